#include "core/storage/fault_backend.h"

#include <algorithm>
#include <utility>

namespace coffre::storage {

namespace {

size_t Index(FaultInjectingBackend::Op op) { return static_cast<size_t>(op); }

}  // namespace

FaultInjectingBackend::FaultInjectingBackend(std::shared_ptr<Backend> base)
    : BackendWrapper(std::move(base)) {}

void FaultInjectingBackend::FailCall(Op op, uint64_t n, Status status,
                                     When when) {
  std::lock_guard<std::mutex> lock(mu_);
  planned_[Index(op)][calls_[Index(op)] + n] = Fault{std::move(status), when};
}

void FaultInjectingBackend::FailEveryCall(Op op, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  always_[Index(op)] = std::move(status);
}

void FaultInjectingBackend::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_limit_ = bytes;
}

void FaultInjectingBackend::FlipByteOnLoad(ObjectKind kind, uint64_t position) {
  std::lock_guard<std::mutex> lock(mu_);
  flip_ = Flip{kind, position};
}

void FaultInjectingBackend::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& planned : planned_) planned.clear();
  for (auto& always : always_) always.reset();
  space_limit_.reset();
  flip_.reset();
}

uint64_t FaultInjectingBackend::Calls(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[Index(op)];
}

uint64_t FaultInjectingBackend::SavedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return saved_bytes_;
}

std::optional<FaultInjectingBackend::Fault> FaultInjectingBackend::Begin(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t i = Index(op);
  const uint64_t call = ++calls_[i];
  auto it = planned_[i].find(call);
  if (it != planned_[i].end()) {
    Fault fault = std::move(it->second);
    planned_[i].erase(it);
    return fault;
  }
  if (always_[i]) return Fault{*always_[i], When::kBefore};
  return std::nullopt;
}

Status FaultInjectingBackend::Finish(const std::optional<Fault>& fault,
                                     Status status) {
  if (fault && fault->when == When::kAfter) return fault->status;
  return status;
}

Status FaultInjectingBackend::ReserveSpace(const ObjectName& object, uint64_t bytes) {
  // Reserved before the write, so concurrent Saves cannot all squeeze in.
  std::lock_guard<std::mutex> lock(mu_);
  if (space_limit_ && bytes > *space_limit_ - std::min(*space_limit_, saved_bytes_)) {
    return NoSpaceError("save " + object.ToString() + ": no space left (injected: limit of " +
                        std::to_string(*space_limit_) + " bytes)");
  }
  saved_bytes_ += bytes;
  return Status::Ok();
}

void FaultInjectingBackend::ReleaseSpace(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  saved_bytes_ -= bytes;
}

Status FaultInjectingBackend::Save(const ObjectName& object, ByteView data) {
  std::optional<Fault> fault = Begin(Op::kSave);
  if (fault && fault->when == When::kBefore) return fault->status;
  RETURN_IF_ERROR(ReserveSpace(object, data.size()));
  Status status = base().Save(object, data);
  if (!status.ok()) ReleaseSpace(data.size());
  return Finish(fault, std::move(status));
}

// The wrapped backend's writer, with the space limit on each piece and the
// Save faults at Commit. Bytes of a writer that never committed are given
// back.
class FaultInjectingBackend::Writer : public ObjectWriter {
 public:
  Writer(FaultInjectingBackend& owner, ObjectName object, std::unique_ptr<ObjectWriter> base)
      : owner_(owner), object_(std::move(object)), base_(std::move(base)) {}
  ~Writer() override {
    if (!committed_) owner_.ReleaseSpace(reserved_);
  }

  Status Write(ByteView data) override {
    RETURN_IF_ERROR(owner_.ReserveSpace(object_, data.size()));
    reserved_ += data.size();
    return base_->Write(data);
  }
  Status Commit() override {
    std::optional<Fault> fault = owner_.Begin(Op::kSave);
    if (fault && fault->when == When::kBefore) return fault->status;
    Status status = base_->Commit();
    committed_ = status.ok();
    return Finish(fault, std::move(status));
  }

 private:
  FaultInjectingBackend& owner_;
  const ObjectName object_;
  const std::unique_ptr<ObjectWriter> base_;
  uint64_t reserved_ = 0;
  bool committed_ = false;
};

Result<std::unique_ptr<ObjectWriter>> FaultInjectingBackend::NewWriter(const ObjectName& object, uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, base().NewWriter(object, size));
  return std::unique_ptr<ObjectWriter>(std::make_unique<Writer>(*this, object, std::move(writer)));
}

Result<Bytes> FaultInjectingBackend::Load(const ObjectName& object,
                                          uint64_t offset, uint64_t length) {
  std::optional<Fault> fault = Begin(Op::kLoad);
  if (fault && fault->when == When::kBefore) return Err(fault->status);
  Result<Bytes> result = base().Load(object, offset, length);
  if (fault) return Err(fault->status);
  if (result && !result->empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (flip_ && flip_->kind == object.kind) {
      (*result)[flip_->position % result->size()] ^= 0xff;
    }
  }
  return result;
}

Result<uint64_t> FaultInjectingBackend::Stat(const ObjectName& object) {
  std::optional<Fault> fault = Begin(Op::kStat);
  if (fault && fault->when == When::kBefore) return Err(fault->status);
  Result<uint64_t> result = base().Stat(object);
  if (fault) return Err(fault->status);
  return result;
}

Status FaultInjectingBackend::Remove(const ObjectName& object) {
  std::optional<Fault> fault = Begin(Op::kRemove);
  if (fault && fault->when == When::kBefore) return fault->status;
  return Finish(fault, base().Remove(object));
}

Status FaultInjectingBackend::List(
    ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  std::optional<Fault> fault = Begin(Op::kList);
  if (fault && fault->when == When::kBefore) return fault->status;
  return Finish(fault, base().List(kind, fn));
}

}  // namespace coffre::storage
