#include "agent/restore/fetch_plan.h"

#include <algorithm>

namespace coffre::restore {

void FetchPlan::Add(const repo::BlobLocation& loc, ChunkUse use) {
  auto [it, fresh] = by_id_.try_emplace(loc.entry.id, blobs_.size());
  if (fresh) blobs_.push_back(PlannedBlob{loc, {}});
  blobs_[it->second].uses.push_back(use);
  ++uses_;
}

std::vector<PackRead> FetchPlan::Reads(const FetchLimits& limits) {
  by_id_.clear();  // positions change below; the plan is complete
  std::sort(blobs_.begin(), blobs_.end(), [](const PlannedBlob& a, const PlannedBlob& b) {
    if (a.loc.pack != b.loc.pack) return a.loc.pack < b.loc.pack;
    return a.loc.entry.offset < b.loc.entry.offset;
  });
  std::vector<PackRead> reads;
  for (size_t i = 0; i < blobs_.size(); ++i) {
    const repo::BlobLocation& loc = blobs_[i].loc;
    const uint64_t begin = loc.entry.offset;
    const uint64_t end = begin + loc.entry.stored_len;
    if (!reads.empty()) {
      PackRead& last = reads.back();
      const uint64_t last_end = last.offset + last.length;
      // Blobs of a pack do not overlap; a second index entry naming the same
      // bytes (an old duplicate) still joins without a negative gap.
      if (last.pack == loc.pack && begin >= last.offset && begin <= last_end + limits.max_gap &&
          std::max(end, last_end) - last.offset <= limits.max_read) {
        last.length = std::max(end, last_end) - last.offset;
        last.last = i + 1;
        continue;
      }
    }
    reads.push_back(PackRead{loc.pack, begin, end - begin, i, i + 1});
  }
  return reads;
}

}  // namespace coffre::restore
