#!/bin/bash
# End-to-end: scripts/postgres.sh starts a real PostgreSQL on 127.0.0.1 for
# the fleet's shared state. `env` prints a connection string that needs no
# password on the command line and works with psql; the password file is
# mode 600; the server listens on 127.0.0.1 only and refuses a wrong
# password; a second start in the same BASE_DIR is refused with one error
# line; stop then start keeps the data; stop twice is a no-op; a bad port is
# refused. Needs Debian's postgresql (COFFRE_S3_DEPS=1 scripts/install-deps.sh);
# prints SKIP without it.
source "$(dirname "$0")/lib.sh"

PGSH=$(cd "$E2E_DIR/../../scripts" && pwd)/postgres.sh
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 ||
  skip "PostgreSQL is not installed (COFFRE_S3_DEPS=1 scripts/install-deps.sh)"
command -v psql >/dev/null || fail "psql is needed (COFFRE_S3_DEPS=1 scripts/install-deps.sh)"
source "$E2E_DIR/../../scripts/lib/free_ports.sh"
read -r PORT < <(free_ports 1)
BASE=$(realpath -m "$WORK/pg")
on_exit '"$PGSH" stop "$BASE" >/dev/null 2>&1'

step "start: a server on 127.0.0.1 that the printed connection string reaches"
"$PGSH" start "$BASE" --port "$PORT" >"$OUT" 2>"$ERR" || fail "start failed: $(cat "$ERR")"
eval "$("$PGSH" env "$BASE")"
[[ $COFFRE_PG_CONNINFO == *"port=$PORT"* ]] || fail "env names another port: $COFFRE_PG_CONNINFO"
[[ $COFFRE_PG_CONNINFO != *password=* ]] || fail "env prints the password: $COFFRE_PG_CONNINFO"
[[ $(stat -c %a "$BASE/pgpass") == 600 ]] || fail "pgpass is mode $(stat -c %a "$BASE/pgpass")"
psql "$COFFRE_PG_CONNINFO" -XAtqc "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')" ||
  fail "cannot write through $COFFRE_PG_CONNINFO"
listeners=$(ss -Htlnp | grep ":$PORT " | awk '{print $4}' | sort -u)
[[ $listeners == "127.0.0.1:$PORT" ]] || fail "the server listens on: $listeners"

step "a wrong password is refused"
rc=0
PGPASSWORD=wrong psql "host=127.0.0.1 port=$PORT dbname=coffre user=coffre" -XAtqc "SELECT 1" \
  >/dev/null 2>"$ERR" || rc=$?
((rc != 0)) || fail "a wrong password was accepted"
grep -q "password authentication failed" "$ERR" || fail "wrong password: $(cat "$ERR")"

step "a second start in the same folder is refused in one line"
rc=0
"$PGSH" start "$BASE" --port "$PORT" >"$OUT" 2>"$ERR" || rc=$?
((rc == 1)) || fail "second start exited $rc"
[[ $(wc -l <"$ERR") == 1 ]] && grep -q "^postgres.sh: error: a server already runs" "$ERR" ||
  fail "second start: $(cat "$ERR")"

step "stop, then start again: the data is still there"
"$PGSH" stop "$BASE" || fail "stop failed"
"$PGSH" stop "$BASE" || fail "a second stop failed"
psql "$COFFRE_PG_CONNINFO" -XAtqc "SELECT 1" >/dev/null 2>&1 && fail "the server still answers after stop"
"$PGSH" start "$BASE" >"$OUT" 2>"$ERR" || fail "restart failed: $(cat "$ERR")"
[[ $(psql "$COFFRE_PG_CONNINFO" -XAtqc "SELECT v FROM kept") == "still here" ]] ||
  fail "the data did not survive a restart"

step "a bad port is refused"
rc=0
"$PGSH" start "$WORK/other" --port 12ab >"$OUT" 2>"$ERR" || rc=$?
((rc == 1)) && grep -q "bad port" "$ERR" || fail "bad port: exit $rc: $(cat "$ERR")"
