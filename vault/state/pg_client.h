// PgClient: a small pool of libpq connections to the PostgreSQL database
// that a fleet of vault nodes shares (docs/state.md). Every query is sent
// with its parameters apart from its text (PQexecParams), so no value is
// ever spliced into SQL. A connection that breaks is dropped and the next
// query opens a new one, so a database restart costs the queries in flight
// and nothing more. Errors name the database's own first line, never the
// connection string (it may hold a password).
// Thread-safety: all methods may be called concurrently; a PgSession
// belongs to the one thread running the transaction.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/base/status.h"

struct pg_conn;

namespace coffre::vault {

// A query's rows, each value as text ("" for NULL).
using PgRows = std::vector<std::vector<std::string>>;

// One connection inside a transaction (PgClient::Transaction).
class PgSession {
 public:
  Result<PgRows> Query(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  friend class PgClient;
  explicit PgSession(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

class PgClient {
 public:
  static constexpr int kAcquireTimeoutS = 15;

  // Connects once to check `conninfo` (libpq's keyword=value or URI form);
  // kUnavailable with the server's reason (unreachable, wrong password, no
  // such database) if it cannot, kInvalidArgument if it does not parse.
  // Timeouts and TCP keepalives not given in it get defaults of seconds,
  // and every statement is cancelled after 15 s. At most `max_connections`
  // are open at once; a query that waits kAcquireTimeoutS for one of them
  // gets kUnavailable.
  static Result<std::unique_ptr<PgClient>> Connect(const std::string& conninfo,
                                                   size_t max_connections);
  ~PgClient();

  // One statement on its own (autocommit). Errors: kAlreadyExists for a
  // unique violation, kNotFound for a foreign-key one, kUnavailable when
  // the connection is lost, kIo for anything else.
  Result<PgRows> Query(const std::string& sql, const std::vector<std::string>& params = {});
  // Runs `body` between BEGIN and COMMIT on one connection; any error (from
  // `body` or the commit) rolls back and is returned.
  Status Transaction(const std::function<Status(PgSession&)>& body);

 private:
  PgClient(std::string conninfo, size_t max_connections)
      : conninfo_(std::move(conninfo)), max_(max_connections) {}
  // An idle connection, a new one, or, at the limit, the next one freed.
  Result<pg_conn*> Acquire();
  // Returns `conn` to the pool, or closes it if it broke.
  void Give(pg_conn* conn);

  const std::string conninfo_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<pg_conn*> idle_;
  size_t open_ = 0;
};

}  // namespace coffre::vault
