#include "agent/repo/pack_uploader.h"

#include <algorithm>

#include "core/format/index.h"

namespace coffre::repo {

namespace {
// An index object every so many packs bounds what a crash leaves unindexed.
constexpr size_t kPacksPerIndex = 64;
}  // namespace

PackUploader::PackUploader(Repository* repo, size_t target_pack_size, size_t max_queued)
    : repo_(repo),
      target_size_(target_pack_size),
      tree_target_size_(std::min(target_pack_size, kTreePackSize)),
      max_queued_(std::max<size_t>(max_queued, 1)) {
  for (size_t i = 0; i < max_queued_; ++i) uploaders_.emplace_back([this] { UploadLoop(); });
}

PackUploader::~PackUploader() {
  (void)Flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : uploaders_) t.join();
}

bool PackUploader::Reserve(const BlobId& id) {
  if (repo_->index().HasBlob(id)) return false;
  std::lock_guard lock(mu_);
  return reserved_.insert(id).second;
}

Status PackUploader::AddBlob(format::BlobType type, const BlobId& id, compress::Codec codec,
                             uint32_t raw_len, ByteView stored) {
  std::unique_lock lock(mu_);
  if (!error_.ok()) return error_;
  // Trees go to packs of their own: reading a snapshot's metadata (the next
  // backup, a cache) then never touches file data.
  const bool tree = type == format::BlobType::kTree;
  std::unique_ptr<format::PackWriter>& open = tree ? open_tree_ : open_data_;
  const size_t target = tree ? tree_target_size_ : target_size_;
  // A pack ends at most one blob (4 MiB max) plus its header past the target.
  if (!open) open = std::make_unique<format::PackWriter>(repo_->keys().data_key, target + (6 << 20));
  open->AddBlob(type, id, codec, raw_len, stored);
  if (open->size() >= target) EnqueueLocked(lock, open);
  return error_;
}

void PackUploader::EnqueueLocked(std::unique_lock<std::mutex>& lock,
                                 std::unique_ptr<format::PackWriter>& open) {
  // Wait for room so memory stays bounded while storage is slower than CPU.
  cv_.wait(lock, [this] {
    return queue_.size() + uploading_ < max_queued_ || !error_.ok();
  });
  // Another worker waited here too and already queued the pack.
  if (!open || open->blob_count() == 0) return;
  queue_.push_back(open->Finish());
  open.reset();
  cv_.notify_all();
}

void PackUploader::UploadLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    format::PackWriter::Finished pack = std::move(queue_.front());
    queue_.pop_front();
    ++uploading_;
    cv_.notify_all();
    lock.unlock();
    // A tree pack is marked so that a cache keeps it: the next backup reads
    // it back (its trees are the parent snapshot's).
    const bool trees = !pack.entries.empty() && std::all_of(pack.entries.begin(), pack.entries.end(),
                                                           [](const format::PackEntry& e) {
                                                             return e.type == format::BlobType::kTree;
                                                           });
    Status s = repo_->backend().Save({storage::ObjectKind::kData, pack.id.Hex(), trees}, pack.bytes);
    // An identical pack already stored (same bytes, same name) is fine.
    if (s.code() == ErrorCode::kAlreadyExists) s = Status::Ok();
    lock.lock();
    if (!s.ok()) {
      if (error_.ok()) error_ = s.WithContext("saving pack " + pack.id.Short());
    } else {
      // Reaches the repository's index only once an index object names it
      // (SaveIndexLocked): until then reserved_ dedups, and a pack whose
      // index save fails stays an orphan that IndexOrphanPacks picks up.
      unindexed_.push_back({pack.id, pack.salt, pack.bytes.size(), std::move(pack.entries)});
      bytes_stored_ += pack.bytes.size();
      ++packs_stored_;
      if (unindexed_.size() >= kPacksPerIndex) {
        Status is = SaveIndexLocked(lock);
        if (!is.ok() && error_.ok()) error_ = is;
      }
    }
    // Only now: Flush must not see "idle" while an index save is under way.
    --uploading_;
    cv_.notify_all();
  }
}

Status PackUploader::SaveIndexLocked(std::unique_lock<std::mutex>& lock) {
  if (unindexed_.empty()) return Status::Ok();
  format::IndexFile file;
  file.packs = std::move(unindexed_);
  unindexed_.clear();
  lock.unlock();
  auto saved = repo_->SaveIndex(file);
  lock.lock();
  if (!saved) return saved.error().WithContext("saving index");
  for (const format::IndexedPack& pack : file.packs) repo_->index().AddPack(pack);
  return Status::Ok();
}

Status PackUploader::Flush() {
  std::unique_lock lock(mu_);
  for (auto* open : {&open_data_, &open_tree_})
    if (*open && (*open)->blob_count() > 0 && error_.ok()) EnqueueLocked(lock, *open);
  cv_.wait(lock, [this] { return (queue_.empty() && uploading_ == 0) || !error_.ok(); });
  if (!error_.ok()) {
    // Index what did reach storage, so the next run reuses it.
    (void)SaveIndexLocked(lock);
    return error_;
  }
  return SaveIndexLocked(lock);
}

uint64_t PackUploader::bytes_stored() const {
  std::lock_guard lock(mu_);
  return bytes_stored_;
}

uint64_t PackUploader::packs_stored() const {
  std::lock_guard lock(mu_);
  return packs_stored_;
}

}  // namespace coffre::repo
