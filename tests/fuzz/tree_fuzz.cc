// Fuzz target: tree blobs, as DecodeTree parses them once a blob has been
// opened and decompressed (the AEAD and zstd layers are pack_fuzz's). The
// tree format promises (docs/format/tree.md) that EncodeTree writes exactly
// what DecodeTree accepts: a decoded tree must encode, and decode back equal.
// Every decoded name must also be one safe path component.
#include "core/format/tree.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tree = format::DecodeTree(ByteView(data, size));
  if (!tree) return 0;
  for (const format::Node& node : tree->nodes) {
    fuzz::Check(format::IsSafeName(node.name), "a decoded tree holds an unsafe name");
  }
  auto encoded = format::EncodeTree(*tree);
  fuzz::Check(encoded.has_value(), "EncodeTree refuses a tree that DecodeTree accepted");
  auto again = format::DecodeTree(*encoded);
  fuzz::Check(again.has_value() && again->nodes == tree->nodes, "tree round trip changes it");
  return 0;
}
