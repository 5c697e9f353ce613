// AuditLog: the trail of every write or delete the vault is asked for,
// accepted or refused. Where it is kept is each kind's own: FileAuditLog
// (one JSON line per event in DATA/audit.log, one node) or PgAuditLog
// (vault/state/: a table every node of a fleet appends to). The fields are
// specified in docs/vault-api.md.
// Thread-safety: Record may be called concurrently.
#pragma once

#include <string>

#include "core/base/status.h"

namespace coffre::vault {

struct AuditEvent {
  std::string tenant;
  std::string token_id;  // "" when the token was not valid
  std::string action;    // "put", "delete", "create_repo"
  std::string repo;
  std::string object;  // "data/3af0..." or "" for repository actions
  int status = 0;      // the HTTP status answered
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Records the event with the current time. A failed write is returned,
  // never thrown; the caller counts it.
  virtual Status Record(const AuditEvent& event) = 0;
};

}  // namespace coffre::vault
