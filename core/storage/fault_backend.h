// FaultInjectingBackend: wraps another Backend and makes chosen calls fail,
// so tests can prove what a full disk, a vault that goes away, or a damaged
// pack does to the layers above (LevelDB's fault-injecting Env, kopia's
// faulty storage). It also counts calls per operation.
//
// Faults, all off until set:
// A streamed save (NewWriter) is a Save: its call is counted, and its fault
// applied, at Commit; the space limit is checked as its pieces arrive.
// - FailCall(op, n, status): the n-th call of `op` from now (1 = the next)
//   returns `status`. kBefore: the wrapped backend never sees the call;
//   kAfter: the call goes through and its result is replaced (a Save that
//   landed but whose answer was lost on the network).
// - FailEveryCall(op, status): every call of `op` fails, until ClearFaults.
// - SetSpaceLimit(bytes): a Save whose data would take the bytes saved
//   through this wrapper past `bytes` fails with kNoSpace without reaching
//   the wrapped backend. Remove gives no space back.
// - FlipByteOnLoad(kind, position): every successful Load of `kind` returns
//   its bytes with the byte at `position` (modulo the size) inverted; the
//   stored object is untouched. Empty results are returned as they are.
// Thread-safety: all methods may be called concurrently; the fault state is
// guarded by a mutex that is never held while calling the wrapped backend.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "core/storage/backend_wrapper.h"

namespace coffre::storage {

class FaultInjectingBackend : public BackendWrapper {
 public:
  enum class Op { kSave = 0, kLoad, kStat, kRemove, kList };
  enum class When { kBefore, kAfter };

  // Shares `base` so a test may keep using it directly (to inspect what
  // really got stored).
  explicit FaultInjectingBackend(std::shared_ptr<Backend> base);

  void FailCall(Op op, uint64_t n, Status status, When when = When::kBefore);
  void FailEveryCall(Op op, Status status);
  void SetSpaceLimit(uint64_t bytes);
  void FlipByteOnLoad(ObjectKind kind, uint64_t position);
  // Removes every fault; the call counts and saved bytes are kept.
  void ClearFaults();

  // Calls of `op` so far, failed ones included.
  uint64_t Calls(Op op) const;
  // Bytes of the Saves that succeeded through this wrapper.
  uint64_t SavedBytes() const;

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override;
  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0,
                     uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& object) override;
  Status Remove(const ObjectName& object) override;
  Status List(ObjectKind kind,
              const std::function<Status(const ObjectInfo&)>& fn) override;
 private:
  class Writer;
  static constexpr size_t kOps = 5;
  struct Fault {
    Status status;
    When when;
  };
  struct Flip {
    ObjectKind kind;
    uint64_t position;
  };

  // Counts the call and returns the fault it must suffer, if any.
  std::optional<Fault> Begin(Op op);
  // Applies a kAfter fault to the status the wrapped backend returned.
  static Status Finish(const std::optional<Fault>& fault, Status status);
  // Counts `bytes` against the space limit, or kNoSpace naming `object`.
  Status ReserveSpace(const ObjectName& object, uint64_t bytes);
  void ReleaseSpace(uint64_t bytes);

  mutable std::mutex mu_;
  std::array<uint64_t, kOps> calls_{};
  // Faults keyed by the absolute call number they hit.
  std::array<std::map<uint64_t, Fault>, kOps> planned_;
  std::array<std::optional<Status>, kOps> always_;
  std::optional<uint64_t> space_limit_;
  uint64_t saved_bytes_ = 0;
  std::optional<Flip> flip_;
};

}  // namespace coffre::storage
