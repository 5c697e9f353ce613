// Fuzz target: prune plans, the second record type under locks/. The input
// is the plaintext after the record type byte, which the target sets to 2,
// so no mutation is spent on leaving the plan branch of DecodeLockRecord
// (counts, condemned pack ids and their order, trailing bytes).
#include "core/format/lock.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes plaintext;
  plaintext.reserve(size + 1);
  plaintext.push_back(2);
  plaintext.insert(plaintext.end(), data, data + size);
  auto record = format::DecodeLockRecord(plaintext);
  if (!record) return 0;
  const auto* plan = std::get_if<format::PrunePlan>(&*record);
  fuzz::Check(plan != nullptr, "record type 2 decoded as something else than a plan");
  for (size_t i = 1; i < plan->condemned.size(); ++i) {
    fuzz::Check(plan->condemned[i - 1] < plan->condemned[i],
                "a decoded plan's pack ids are not strictly increasing");
  }
  auto again = format::DecodeLockRecord(format::EncodeLockRecord(*record));
  fuzz::Check(again.has_value() && *again == *record, "prune plan round trip changes it");
  return 0;
}
