#include "core/storage/fault_backend.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace coffre::storage {

namespace {

size_t Index(FaultInjectingBackend::Op op) { return static_cast<size_t>(op); }

// The bytes a short read or torn write keeps of `size`: fewer than all.
size_t Kept(size_t size, double keep) {
  if (size == 0) return 0;
  return std::min(size - 1, static_cast<size_t>(keep * static_cast<double>(size)));
}

// The error of a plan's kError draw.
Status InjectedError(const FaultDraw& draw, const std::string& what) {
  if (draw.transient) return UnavailableError(what + ": unavailable (injected)");
  return IoError(what + ": I/O error (injected)");
}

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

void FaultInjectingBackend::SetPlan(const FaultPlan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  plan_ = plan;
}

void FaultInjectingBackend::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& planned : planned_) planned.clear();
  for (auto& always : always_) always.reset();
  space_limit_.reset();
  flip_.reset();
  plan_.reset();
}

uint64_t FaultInjectingBackend::InjectedFaults() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

std::vector<std::string> FaultInjectingBackend::InjectedLog() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

std::vector<std::string> FaultInjectingBackend::TornObjects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return torn_;
}

void FaultInjectingBackend::Log(const char* op, uint64_t call, const std::string& what,
                                const std::string& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  ++injected_;
  // Bounded: a long loop keeps its last faults, the ones that matter.
  if (log_.size() >= 1000) log_.erase(log_.begin(), log_.begin() + 500);
  log_.push_back(std::string(op) + " #" + std::to_string(call) + " " + what + ": " + fault);
}

uint64_t FaultInjectingBackend::Calls(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[Index(op)];
}

uint64_t FaultInjectingBackend::SavedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return saved_bytes_;
}

FaultInjectingBackend::Planned FaultInjectingBackend::Begin(Op op) {
  Planned planned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t i = Index(op);
    planned.call = ++calls_[i];
    auto it = planned_[i].find(planned.call);
    if (it != planned_[i].end()) {
      planned.fault = std::move(it->second);
      planned_[i].erase(it);
    } else if (always_[i]) {
      planned.fault = Fault{*always_[i], When::kBefore};
    } else if (plan_) {
      planned.draw = plan_->Draw(static_cast<FaultStream>(i), planned.call);
    }
  }
  if (planned.draw.delay.count() > 0) std::this_thread::sleep_for(planned.draw.delay);
  return planned;
}

std::pair<uint64_t, FaultDraw> FaultInjectingBackend::BeginWrite() {
  std::pair<uint64_t, FaultDraw> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.first = ++writes_;
    if (plan_) out.second = plan_->Draw(FaultStream::kWrite, out.first);
  }
  if (out.second.delay.count() > 0) std::this_thread::sleep_for(out.second.delay);
  return out;
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

Status FaultInjectingBackend::Tear(const ObjectName& object, ByteView data, double keep) {
  ByteView prefix = data.first(Kept(data.size(), keep));
  const std::string label = object.ToString();
  RETURN_IF_ERROR(ReserveSpace(object, prefix.size()));
  Status stored = base().Save(object, prefix);
  if (!stored.ok()) ReleaseSpace(prefix.size());
  if (stored.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    torn_.push_back(label);
  }
  return IoError("save " + label + ": torn write (injected): " + std::to_string(prefix.size()) +
                 " of " + std::to_string(data.size()) + " bytes stored");
}

Status FaultInjectingBackend::Save(const ObjectName& object, ByteView data) {
  Planned p = Begin(Op::kSave);
  if (p.fault && p.fault->when == When::kBefore) return p.fault->status;
  const std::string label = object.ToString();
  switch (p.draw.kind) {
    case FaultKind::kError:
      Log("save", p.call, label, "error");
      return InjectedError(p.draw, "save " + label);
    case FaultKind::kNoSpace:
      Log("save", p.call, label, "no space");
      return NoSpaceError("save " + label + ": no space left (injected)");
    case FaultKind::kTornWrite:
      Log("save", p.call, label, "torn write");
      return Tear(object, data, p.draw.keep);
    default:
      break;
  }
  RETURN_IF_ERROR(ReserveSpace(object, data.size()));
  Status status = base().Save(object, data);
  if (!status.ok()) ReleaseSpace(data.size());
  if (p.draw.kind == FaultKind::kLostAnswer) {
    Log("save", p.call, label, "lost answer");
    return UnavailableError("save " + label + ": answer lost (injected)");
  }
  return Finish(p.fault, std::move(status));
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
    if (!dead_.ok()) return dead_;
    auto [piece, draw] = owner_.BeginWrite();
    const std::string label = object_.ToString();
    switch (draw.kind) {
      case FaultKind::kError:
        owner_.Log("write", piece, label, "writer died");
        return Die(InjectedError(draw, "write " + label));
      case FaultKind::kNoSpace:
        owner_.Log("write", piece, label, "no space");
        return Die(NoSpaceError("write " + label + ": no space left (injected)"));
      case FaultKind::kTornWrite: {
        owner_.Log("write", piece, label, "writer died mid-piece");
        // Part of the piece reaches the wrapped writer, which then goes
        // away uncommitted: nothing of it may become visible.
        (void)Forward(data.first(Kept(data.size(), draw.keep)));
        return Die(IoError("write " + label + ": writer died mid-way (injected)"));
      }
      default:
        return Forward(data);
    }
  }
  Status Commit() override {
    if (!dead_.ok()) return dead_;
    Planned p = owner_.Begin(Op::kSave);
    if (p.fault && p.fault->when == When::kBefore) return p.fault->status;
    const std::string label = object_.ToString();
    if (p.draw.kind == FaultKind::kError || p.draw.kind == FaultKind::kNoSpace ||
        p.draw.kind == FaultKind::kTornWrite) {
      owner_.Log("save", p.call, label, "writer died at commit");
      return Die(InjectedError(p.draw, "commit " + label));
    }
    Status status = base_->Commit();
    committed_ = status.ok();
    if (p.draw.kind == FaultKind::kLostAnswer) {
      owner_.Log("save", p.call, label, "lost answer");
      return UnavailableError("commit " + label + ": answer lost (injected)");
    }
    return Finish(p.fault, std::move(status));
  }

 private:
  Status Forward(ByteView data) {
    RETURN_IF_ERROR(owner_.ReserveSpace(object_, data.size()));
    reserved_ += data.size();
    return base_->Write(data);
  }
  // The wrapped writer is dropped uncommitted, as a process that died
  // would leave it.
  Status Die(Status status) {
    dead_ = status;
    base_.reset();
    return status;
  }

  FaultInjectingBackend& owner_;
  const ObjectName object_;
  std::unique_ptr<ObjectWriter> base_;
  uint64_t reserved_ = 0;
  bool committed_ = false;
  Status dead_ = Status::Ok();
};

Result<std::unique_ptr<ObjectWriter>> FaultInjectingBackend::NewWriter(const ObjectName& object, uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, base().NewWriter(object, size));
  return std::unique_ptr<ObjectWriter>(std::make_unique<Writer>(*this, object, std::move(writer)));
}

Result<Bytes> FaultInjectingBackend::Load(const ObjectName& object,
                                          uint64_t offset, uint64_t length) {
  Planned p = Begin(Op::kLoad);
  if (p.fault && p.fault->when == When::kBefore) return Err(p.fault->status);
  if (p.draw.kind == FaultKind::kError) {
    Log("load", p.call, object.ToString(), "error");
    return Err(InjectedError(p.draw, "load " + object.ToString()));
  }
  Result<Bytes> result = base().Load(object, offset, length);
  if (p.fault) return Err(p.fault->status);
  if (result && !result->empty() && p.draw.kind == FaultKind::kShortRead) {
    const size_t kept = Kept(result->size(), p.draw.keep);
    Log("load", p.call, object.ToString(),
        "short read, " + std::to_string(kept) + " of " + std::to_string(result->size()) + " bytes");
    // Into a new buffer: a shrunk vector keeps the cut bytes in its
    // capacity, where a caller reading past the end would still find them.
    *result = Bytes(result->begin(), result->begin() + static_cast<ptrdiff_t>(kept));
  }
  if (result && !result->empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (flip_ && flip_->kind == object.kind) {
      (*result)[flip_->position % result->size()] ^= 0xff;
    }
  }
  return result;
}

Result<uint64_t> FaultInjectingBackend::Stat(const ObjectName& object) {
  Planned p = Begin(Op::kStat);
  if (p.fault && p.fault->when == When::kBefore) return Err(p.fault->status);
  if (p.draw.kind == FaultKind::kError) {
    Log("stat", p.call, object.ToString(), "error");
    return Err(InjectedError(p.draw, "stat " + object.ToString()));
  }
  Result<uint64_t> result = base().Stat(object);
  if (p.fault) return Err(p.fault->status);
  return result;
}

Status FaultInjectingBackend::Remove(const ObjectName& object) {
  Planned p = Begin(Op::kRemove);
  if (p.fault && p.fault->when == When::kBefore) return p.fault->status;
  if (p.draw.kind == FaultKind::kError) {
    Log("remove", p.call, object.ToString(), "error");
    return InjectedError(p.draw, "remove " + object.ToString());
  }
  Status status = base().Remove(object);
  if (p.draw.kind == FaultKind::kLostAnswer) {
    Log("remove", p.call, object.ToString(), "lost answer");
    return UnavailableError("remove " + object.ToString() + ": answer lost (injected)");
  }
  return Finish(p.fault, std::move(status));
}

Status FaultInjectingBackend::List(
    ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  Planned p = Begin(Op::kList);
  if (p.fault && p.fault->when == When::kBefore) return p.fault->status;
  if (p.draw.kind == FaultKind::kError) {
    Log("list", p.call, ObjectKindName(kind), "error");
    return InjectedError(p.draw, std::string("list ") + ObjectKindName(kind));
  }
  return Finish(p.fault, base().List(kind, fn));
}

}  // namespace coffre::storage
