#include "agent/backup/blob_saver.h"

#include "core/compress/zstd_codec.h"

namespace coffre::backup {

BlobSaver::BlobSaver(repo::PackUploader* uploader, int compression_level, size_t workers,
                     size_t queue_depth)
    : uploader_(uploader), queue_depth_(queue_depth == 0 ? 1 : queue_depth) {
  if (workers == 0) workers = 1;
  for (size_t i = 0; i < workers; ++i)
    workers_.emplace_back([this, compression_level] { Work(compression_level); });
}

BlobSaver::~BlobSaver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

bool BlobSaver::Save(format::BlobType type, const BlobId& id, Bytes data) {
  if (!uploader_->Reserve(id)) return false;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.size() < queue_depth_ || !error_.ok(); });
  if (!error_.ok()) return false;
  new_raw_bytes_ += data.size();
  queue_.push_back(Job{type, id, std::move(data)});
  cv_.notify_all();
  return true;
}

void BlobSaver::Work(int compression_level) {
  compress::Compressor compressor(compression_level);
  Bytes compressed;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    cv_.notify_all();
    lock.unlock();

    compress::Codec codec = compressor.Compress(job.data, &compressed);
    ByteView stored = codec == compress::Codec::kNone ? ByteView(job.data) : ByteView(compressed);
    Status s = uploader_->AddBlob(job.type, job.id, codec,
                                  static_cast<uint32_t>(job.data.size()), stored);
    job.data = Bytes();  // free before taking the lock again

    lock.lock();
    --busy_;
    if (!s.ok() && error_.ok()) error_ = s;
    cv_.notify_all();
  }
}

Status BlobSaver::Finish() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
  return error_;
}

Status BlobSaver::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

uint64_t BlobSaver::new_raw_bytes() const {
  std::lock_guard lock(mu_);
  return new_raw_bytes_;
}

}  // namespace coffre::backup
