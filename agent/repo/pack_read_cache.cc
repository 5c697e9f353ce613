#include "agent/repo/pack_read_cache.h"

namespace coffre::repo {

std::optional<Bytes> PackReadCache::Find(const PackId& pack, uint64_t offset, uint64_t length) {
  std::lock_guard lock(mu_);
  for (auto it = stretches_.begin(); it != stretches_.end(); ++it) {
    if (it->pack != pack || offset < it->offset) continue;
    const uint64_t start = offset - it->offset;
    if (start > it->bytes->size() || length > it->bytes->size() - start) continue;
    stretches_.splice(stretches_.begin(), stretches_, it);
    const Bytes& held = *stretches_.front().bytes;
    return Bytes(held.begin() + static_cast<ptrdiff_t>(start),
                 held.begin() + static_cast<ptrdiff_t>(start + length));
  }
  return std::nullopt;
}

void PackReadCache::Insert(const PackId& pack, uint64_t offset, Bytes bytes) {
  if (bytes.size() > max_bytes_) return;
  std::lock_guard lock(mu_);
  bytes_ += bytes.size();
  stretches_.push_front({pack, offset, std::make_shared<const Bytes>(std::move(bytes))});
  while (bytes_ > max_bytes_) {
    bytes_ -= stretches_.back().bytes->size();
    stretches_.pop_back();
  }
}

bool PackReadCache::Continues(const PackId& pack, uint64_t offset) {
  std::lock_guard lock(mu_);
  for (const auto& [id, end] : recent_ends_)
    if (id == pack && offset >= end && offset - end <= kSequentialGap) return true;
  return false;
}

void PackReadCache::NoteRead(const PackId& pack, uint64_t end) {
  std::lock_guard lock(mu_);
  recent_ends_.emplace_back(pack, end);
  if (recent_ends_.size() > kRecentReads) recent_ends_.pop_front();
}

}  // namespace coffre::repo
