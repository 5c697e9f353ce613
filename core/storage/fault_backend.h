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
// - SetPlan(plan): besides the faults above (which come first), each call
//   suffers what `plan` draws for it from its seed (core/storage/
//   fault_plan.h): an error before the call, a lost answer after it, a
//   short read (a Load that returns a prefix of the bytes with OK: what a
//   broken backend or a cut connection could do, which the layers above
//   must notice), a torn write (a Save that stores a prefix under the name
//   and reports kIo: it breaks Save's atomicity on purpose, to show that
//   nobody trusts the object of a failed Save; TornObjects() names them),
//   kNoSpace, and short sleeps. A streamed writer whose Write draws a fault
//   dies there: that Write fails, so do all later calls, and nothing of it
//   becomes visible (the writer contract).
//   Lost unsynced data is not modelled: Backend has no sync or commit step
//   apart from Save and ObjectWriter::Commit, which are durable when they
//   return, so there is no acknowledged-but-unsynced state to drop; a crash
//   before they return is a torn write or a writer that died.
// Thread-safety: all methods may be called concurrently; the fault state is
// guarded by a mutex that is never held while calling the wrapped backend.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/storage/backend_wrapper.h"
#include "core/storage/fault_plan.h"

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
  // Replaces the random plan (call numbers count from the first call this
  // wrapper ever saw, so a plan set at the same point replays alike).
  void SetPlan(const FaultPlan& plan);
  // Removes every fault, the plan included; the call counts, saved bytes,
  // torn objects and the log are kept.
  void ClearFaults();

  // Faults the plan injected so far (sleeps not counted).
  uint64_t InjectedFaults() const;
  // One line per fault the plan injected ("save #12 data/3af0…: torn
  // write"), oldest first: what a failing test prints beside its seed.
  std::vector<std::string> InjectedLog() const;
  // The objects a torn write left a prefix of, as "data/3af0…".
  std::vector<std::string> TornObjects() const;

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

  // What one call must suffer: a fault set by FailCall/FailEveryCall, or
  // else the plan's draw.
  struct Planned {
    uint64_t call = 0;
    std::optional<Fault> fault;
    FaultDraw draw;
  };
  // Counts the call, sleeps if the plan says so, and returns its faults.
  Planned Begin(Op op);
  // The plan's draw for the next piece written by any streamed writer, and
  // that piece's number.
  std::pair<uint64_t, FaultDraw> BeginWrite();
  // Records a fault the plan injected into `what` (an object, or a kind).
  void Log(const char* op, uint64_t call, const std::string& what, const std::string& fault);
  // Torn write of `data` to `object`: stores a prefix, returns kIo.
  Status Tear(const ObjectName& object, ByteView data, double keep);
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
  std::optional<FaultPlan> plan_;
  uint64_t writes_ = 0;
  uint64_t injected_ = 0;
  std::vector<std::string> log_;
  std::vector<std::string> torn_;
};

}  // namespace coffre::storage
