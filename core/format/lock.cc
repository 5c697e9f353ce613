// Lock record plaintext encoding (docs/format/lock.md).
#include "core/format/lock.h"

#include <algorithm>

#include "core/base/encoding.h"

namespace coffre::format {

namespace {

constexpr uint8_t kRecordLock = 1;
constexpr uint8_t kRecordPlan = 2;

Result<LockKind> ReadKind(Reader& r) {
  ASSIGN_OR_RETURN(uint8_t kind, r.U8());
  if (kind < 1 || kind > 3)
    return Err(CorruptionError("lock: unknown kind " + std::to_string(kind)));
  return static_cast<LockKind>(kind);
}

Result<Lock> DecodeLock(Reader& r) {
  Lock lock;
  ASSIGN_OR_RETURN(lock.kind, ReadKind(r));
  ASSIGN_OR_RETURN(ByteView session, r.Raw(lock.session.size()));
  std::copy(session.begin(), session.end(), lock.session.begin());
  ASSIGN_OR_RETURN(lock.created_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(lock.refreshed_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(lock.host, r.String(255));
  ASSIGN_OR_RETURN(lock.pid, r.U32());
  return lock;
}

Result<PrunePlan> DecodePlan(Reader& r) {
  PrunePlan plan;
  ASSIGN_OR_RETURN(plan.created_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(plan.visible_by_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(uint64_t count, r.Count(r.remaining() / PackId::kSize));
  plan.condemned.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(ByteView raw, r.Raw(PackId::kSize));
    ASSIGN_OR_RETURN(PackId id, PackId::FromBytes(raw));
    if (!plan.condemned.empty() && !(plan.condemned.back() < id))
      return Err(CorruptionError("prune plan: packs not sorted"));
    plan.condemned.push_back(id);
  }
  return plan;
}

}  // namespace

const char* LockKindName(LockKind kind) {
  switch (kind) {
    case LockKind::kBackup:
      return "backup";
    case LockKind::kRead:
      return "read";
    case LockKind::kPrune:
      return "prune";
  }
  return "unknown";
}

Bytes EncodeLockRecord(const LockRecord& record) {
  Writer w;
  if (const Lock* lock = std::get_if<Lock>(&record)) {
    w.U8(kRecordLock);
    w.U8(static_cast<uint8_t>(lock->kind));
    w.Raw(ByteView(lock->session.data(), lock->session.size()));
    w.SignedVarint(lock->created_ns);
    w.SignedVarint(lock->refreshed_ns);
    w.String(lock->host.substr(0, 255));
    w.U32(lock->pid);
  } else {
    const PrunePlan& plan = std::get<PrunePlan>(record);
    w.U8(kRecordPlan);
    w.SignedVarint(plan.created_ns);
    w.SignedVarint(plan.visible_by_ns);
    w.Varint(plan.condemned.size());
    for (const PackId& id : plan.condemned) w.Raw(id.view());
  }
  return w.Take();
}

Result<LockRecord> DecodeLockRecord(ByteView data) {
  Reader r(data);
  ASSIGN_OR_RETURN(uint8_t type, r.U8());
  LockRecord record;
  if (type == kRecordLock) {
    ASSIGN_OR_RETURN(record, DecodeLock(r));
  } else if (type == kRecordPlan) {
    ASSIGN_OR_RETURN(record, DecodePlan(r));
  } else {
    return Err(CorruptionError("lock: unknown record type " + std::to_string(type)));
  }
  if (!r.done()) return Err(CorruptionError("lock: trailing bytes"));
  return record;
}

}  // namespace coffre::format
