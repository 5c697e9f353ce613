#!/usr/bin/env bash
# Starts and stops a real PostgreSQL server (Debian's postgresql) on
# 127.0.0.1, holding the state a fleet of vault nodes shares (tenants,
# tokens, usage, audit: docs/state.md), for the tests, the benchmarks and a
# quickstart.
#
# Usage:
#   scripts/postgres.sh start BASE_DIR [--port PORT]
#   scripts/postgres.sh stop BASE_DIR
#   scripts/postgres.sh env BASE_DIR
#
# Everything lives under BASE_DIR: data/ (the cluster, owned by the
# `postgres` system user, since the server refuses to run as root), the
# socket folder run/, log/, and pgpass (mode 600), the password of the
# database user `coffre` (random, made once per BASE_DIR), which owns the
# database `coffre`. The server listens on 127.0.0.1 only and checks
# passwords (scram-sha-256) on TCP. The port defaults to 5432 and is kept
# in BASE_DIR; `start` after `stop` brings the same data back.
#
# start refuses when a server already runs in BASE_DIR, waits at most
# COFFRE_PG_START_TIMEOUT seconds (default 60), and on failure prints one
# error line and the log's tail. stop is a no-op when nothing runs.
# env prints COFFRE_PG_CONNINFO, a libpq connection string (host, port,
# dbname, user, passfile: never the password itself).
# Errors: one line "postgres.sh: error: ..." on stderr, exit 1 (2 for usage).
set -euo pipefail

prog=postgres.sh
die() {
  echo "$prog: error: $*" >&2
  exit 1
}
usage() {
  echo "usage: $prog start BASE_DIR [--port PORT]" >&2
  echo "       $prog stop BASE_DIR" >&2
  echo "       $prog env BASE_DIR" >&2
  exit 2
}

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $dir && -x $dir/pg_ctl ]] ||
    die "no PostgreSQL server (scripts/install-deps.sh with COFFRE_S3_DEPS=1 installs it)"
  echo "$dir"
}

# Runs a command as the postgres system user when we are root.
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

set_paths() {
  base=$(realpath -m "$1")
  data=$base/data
  run=$base/run
  logs=$base/log
  passfile=$base/pgpass
  portfile=$base/port
}

running() { [[ -f $data/postmaster.pid ]] && as_pg "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

cmd_start() {
  local port=5432
  while (($#)); do
    case $1 in
      --port) port=${2:?--port needs a value}; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
  local bin
  bin=$(bindir)
  mkdir -p "$base" "$run" "$logs"
  if running; then die "a server already runs in $base"; fi
  [[ -f $portfile ]] && port=$(<"$portfile")
  echo "$port" >"$portfile"
  # The postgres user must reach and own what the server writes.
  if [[ $(id -u) == 0 ]]; then
    chown postgres: "$run" "$logs"
    local d=$base
    while [[ $d != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [[ ! -f $data/PG_VERSION ]]; then
    local password
    password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    mkdir -p "$data"
    [[ $(id -u) == 0 ]] && chown postgres: "$data"
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      >"$logs/initdb.log" 2>&1 || { tail -5 "$logs/initdb.log" >&2; die "initdb failed"; }
    # The password's one copy: the passfile libpq reads.
    (umask 077 && printf '127.0.0.1:%s:coffre:coffre:%s\n' "$port" "$password" >"$passfile")
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$logs/postgres.log" -w -t "${COFFRE_PG_START_TIMEOUT:-60}" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $run -c fsync=on" start >/dev/null 2>&1 || {
    tail -5 "$logs/postgres.log" >&2
    die "the server did not start on 127.0.0.1:$port"
  }
  # The user and database, once (the user's password is in pgpass).
  if ! as_pg "$bin/psql" -h "$run" -p "$port" -U postgres -Atqc \
    "SELECT 1 FROM pg_roles WHERE rolname = 'coffre'" postgres | grep -q 1; then
    # On stdin, so the password is never on a command line (ps shows those).
    local password
    password=$(cut -d: -f5- "$passfile")
    printf "CREATE ROLE coffre LOGIN PASSWORD '%s';\nCREATE DATABASE coffre OWNER coffre;\n" \
      "$password" | as_pg "$bin/psql" -h "$run" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
      postgres >/dev/null || die "cannot create user coffre"
  fi
  echo "$prog: PostgreSQL on 127.0.0.1:$port; next: source <($0 env $base)"
}

cmd_stop() {
  [[ -d $data ]] || return 0
  running || return 0
  as_pg "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
}

cmd_env() {
  [[ -f $passfile && -f $portfile ]] || die "no server was started in $base"
  echo "COFFRE_PG_CONNINFO='host=127.0.0.1 port=$(<"$portfile") dbname=coffre user=coffre passfile=$passfile connect_timeout=5'"
}

(($# >= 2)) || usage
command=$1
set_paths "$2"
shift 2
case $command in
  start) cmd_start "$@" ;;
  stop) (($# == 0)) || usage; cmd_stop ;;
  env) (($# == 0)) || usage; cmd_env ;;
  *) usage ;;
esac
