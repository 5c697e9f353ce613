// Fuzz target: the repository config, read in clear before any key is open
// (DecodeConfig), then its HMAC checked under the fixed test id_key
// (VerifyConfig). A config that decodes must re-encode to one that decodes
// to the same values.
#include "core/format/config.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  auto config = format::DecodeConfig(input);
  (void)format::VerifyConfig(input, fuzz::TestIdKey());
  if (!config) return 0;
  const Bytes again = format::EncodeConfig(*config, fuzz::TestIdKey());
  auto decoded = format::DecodeConfig(again);
  fuzz::Check(decoded.has_value(), "a config that decoded does not decode once re-encoded");
  fuzz::Check(decoded->version == config->version && decoded->repo_id == config->repo_id &&
                  decoded->created_ns == config->created_ns &&
                  decoded->chunker.min_size == config->chunker.min_size &&
                  decoded->chunker.avg_size == config->chunker.avg_size &&
                  decoded->chunker.max_size == config->chunker.max_size &&
                  decoded->compression_level == config->compression_level,
              "config round trip changes it");
  fuzz::Check(format::VerifyConfig(again, fuzz::TestIdKey()).ok(),
              "a freshly encoded config fails its own HMAC");
  return 0;
}
