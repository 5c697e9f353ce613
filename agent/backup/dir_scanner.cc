#include "agent/backup/dir_scanner.h"

namespace coffre::backup {

struct DirScanner::Job {
  enum class State { kQueued, kRunning, kDone };
  Request request;
  State state = State::kQueued;
  ScannedDir result;
};

DirScanner::DirScanner(repo::Repository& repo, UnchangedFn unchanged,
                       ListingPrefetcher* listings, size_t threads, size_t max_pending,
                       std::shared_ptr<const ExcludeFilter> excludes)
    : repo_(repo), unchanged_(std::move(unchanged)), listings_(listings),
      excludes_(std::move(excludes)), max_pending_(max_pending) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { RunThread(); });
}

DirScanner::~DirScanner() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  has_work_.notify_all();
  for (auto& t : threads_) t.join();
}

DirScanner::Ticket DirScanner::Start(Request request) {
  if (threads_.empty()) return nullptr;
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  {
    std::lock_guard lock(mu_);
    if (pending_ >= max_pending_) return nullptr;
    ++pending_;
    queue_.push_back(job);
  }
  has_work_.notify_one();
  return job;
}

ScannedDir DirScanner::Finish(const Ticket& ticket) {
  std::unique_lock lock(mu_);
  --pending_;
  if (ticket->state == Job::State::kQueued) {  // nobody has begun it: do it here
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    ticket->state = Job::State::kRunning;
    lock.unlock();
    return Scan(ticket->request);
  }
  ++waiting_;
  done_.wait(lock, [&] { return ticket->state == Job::State::kDone; });
  --waiting_;
  return std::move(ticket->result);
}

void DirScanner::RunThread() {
  std::unique_lock lock(mu_);
  for (;;) {
    has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Ticket job = std::move(queue_.front());
    queue_.pop_front();
    job->state = Job::State::kRunning;
    lock.unlock();
    ScannedDir result = Scan(job->request);
    lock.lock();
    job->result = std::move(result);
    job->request.dir.reset();
    job->state = Job::State::kDone;
    if (waiting_ > 0) done_.notify_all();
  }
}

ScannedDir DirScanner::Scan(const Request& request) {
  ScannedDir out;
  std::optional<DirListing> listing;
  if (listings_) listing = listings_->Take(request.path, request.device, request.inode);
  static_cast<DirListing&>(out) =
      listing ? std::move(*listing)
              : ReadDirectory(request.dir, request.name, excludes_.get(), request.path,
                              request.is_target);
  if (!out.error.ok() || !out.list_error.ok() || !out.excluded_by.empty()) return out;

  if (request.parent_tree) {
    auto tree = repo_.LoadTree(*request.parent_tree);
    if (tree) out.parent = std::move(*tree);  // else no cache: files are read, nothing lost
  }
  out.unchanged.reserve(out.nodes.size());
  out.parent_index.reserve(out.nodes.size());
  for (const format::Node& node : out.nodes) {
    const format::Node* parent = out.parent ? format::FindNode(*out.parent, node.name) : nullptr;
    const int index = parent ? static_cast<int>(parent - out.parent->nodes.data()) : -1;
    out.unchanged.push_back(node.type == format::NodeType::kFile && unchanged_(node, parent));
    out.parent_index.push_back(index);
  }
  return out;
}

}  // namespace coffre::backup
