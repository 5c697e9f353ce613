#include "vault/state/pg_client.h"

#include <libpq-fe.h>

#include <chrono>

namespace coffre::vault {
namespace {

// The first line of a libpq message, without "ERROR:  " or "FATAL:  ".
std::string FirstLine(const char* message) {
  std::string text = message ? message : "";
  text = text.substr(0, text.find('\n'));
  for (const char* lead : {"ERROR:  ", "FATAL:  "}) {
    if (text.rfind(lead, 0) == 0) text = text.substr(std::string(lead).size());
  }
  return text.empty() ? "no reason given" : text;
}

Status ErrorOf(pg_conn* conn, PGresult* res) {
  const std::string what = "shared state (PostgreSQL): " +
                           FirstLine(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK) return UnavailableError(what);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  if (code == "23505") return AlreadyExistsError(what);
  if (code == "23503") return NotFoundError(what);
  if (code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0) return UnavailableError(what);
  return IoError(what);
}

Result<PgRows> Run(pg_conn* conn, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  PGresult* res = PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, /*resultFormat=text*/ 0);
  const ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Status error = ErrorOf(conn, res);
    PQclear(res);
    return Err(error);
  }
  PgRows rows(static_cast<size_t>(PQntuples(res)));
  const int columns = PQnfields(res);
  for (size_t r = 0; r < rows.size(); ++r) {
    rows[r].reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      rows[r].emplace_back(PQgetvalue(res, static_cast<int>(r), c),
                           static_cast<size_t>(PQgetlength(res, static_cast<int>(r), c)));
    }
  }
  PQclear(res);
  return rows;
}

// What a connection gets unless its conninfo says otherwise: a database
// host that vanishes without resetting the connection must cost seconds,
// not the minutes of TCP's retransmissions, or every request thread would
// wait on it.
const char* const kDefaults[][2] = {
    {"connect_timeout", "5"},
    {"keepalives", "1"},
    {"keepalives_idle", "10"},
    {"keepalives_interval", "5"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "15000"},
};
// No statement of ours takes long; one that does is waiting on a lock or a
// sick server.
constexpr char kStatementTimeout[] = "SET statement_timeout = 15000";

Result<pg_conn*> Open(const std::string& conninfo) {
  // Parsed here first: libpq's own parse errors quote the text, and the
  // text may hold a password.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (!parsed) {
    PQfreemem(parse_error);
    return Err(InvalidArgumentError(
        "the shared state's conninfo does not parse (libpq keyword=value or postgresql:// URI)"));
  }
  std::vector<const char*> keys, values;
  for (PQconninfoOption* o = parsed; o->keyword; ++o) {
    if (!o->val) continue;
    keys.push_back(o->keyword);
    values.push_back(o->val);
  }
  for (const auto& [key, value] : kDefaults) {
    bool given = false;
    for (const char* k : keys) given = given || std::string(k) == key;
    if (!given) {
      keys.push_back(key);
      values.push_back(value);
    }
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  PQconninfoFree(parsed);
  if (!conn) return Err(UnavailableError("shared state (PostgreSQL): out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    Status error =
        UnavailableError("cannot reach the shared state (PostgreSQL): " +
                         FirstLine(PQerrorMessage(conn)));
    PQfinish(conn);
    return Err(error);
  }
  // The server's notices ("relation already exists, skipping") are not
  // for the vault's users; libpq would print them on stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  auto timeout = Run(conn, kStatementTimeout, {});
  if (!timeout) {
    PQfinish(conn);
    return Err(timeout.error());
  }
  return conn;
}

}  // namespace

Result<PgRows> PgSession::Query(const std::string& sql, const std::vector<std::string>& params) {
  return Run(conn_, sql, params);
}

Result<std::unique_ptr<PgClient>> PgClient::Connect(const std::string& conninfo,
                                                    size_t max_connections) {
  std::unique_ptr<PgClient> client(new PgClient(conninfo, std::max<size_t>(1, max_connections)));
  ASSIGN_OR_RETURN(pg_conn * first, Open(conninfo));
  client->open_ = 1;
  client->Give(first);
  return client;
}

PgClient::~PgClient() {
  for (pg_conn* conn : idle_) PQfinish(conn);
}

Result<pg_conn*> PgClient::Acquire() {
  {
    std::unique_lock lock(mu_);
    if (!freed_.wait_for(lock, std::chrono::seconds(kAcquireTimeoutS),
                         [&] { return !idle_.empty() || open_ < max_; })) {
      return Err(UnavailableError("shared state (PostgreSQL): every connection is busy"));
    }
    if (!idle_.empty()) {
      pg_conn* conn = idle_.back();
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  auto opened = Open(conninfo_);
  if (!opened) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
  }
  return opened;
}

void PgClient::Give(pg_conn* conn) {
  std::lock_guard lock(mu_);
  if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
    idle_.push_back(conn);
  } else {
    PQfinish(conn);
    --open_;
  }
  freed_.notify_one();
}

Result<PgRows> PgClient::Query(const std::string& sql, const std::vector<std::string>& params) {
  ASSIGN_OR_RETURN(pg_conn * conn, Acquire());
  auto rows = Run(conn, sql, params);
  Give(conn);
  return rows;
}

Status PgClient::Transaction(const std::function<Status(PgSession&)>& body) {
  ASSIGN_OR_RETURN(pg_conn * conn, Acquire());
  PgSession session(conn);
  Status s = StatusOf(session.Query("BEGIN"));
  if (s.ok()) s = body(session);
  if (s.ok()) {
    // On a transaction that failed inside, COMMIT "succeeds" as a ROLLBACK.
    const bool failed_inside = PQtransactionStatus(conn) != PQTRANS_INTRANS;
    s = StatusOf(session.Query("COMMIT"));
    if (s.ok() && failed_inside) s = IoError("shared state (PostgreSQL): the transaction was rolled back");
  }
  if (!s.ok() && PQstatus(conn) == CONNECTION_OK) (void)session.Query("ROLLBACK");
  Give(conn);
  return s;
}

}  // namespace coffre::vault
