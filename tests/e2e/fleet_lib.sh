# Helpers for the e2e tests of a fleet of vault nodes: a real S3 server (the
# Ceph RADOS Gateway that scripts/rgw.sh starts) and a real PostgreSQL (the
# one scripts/postgres.sh starts) for their shared state; scripts/test.sh
# exports COFFRE_S3_* and COFFRE_PG_CONNINFO. Sourced after lib.sh.
#   require_s3                  SKIP (or fail, with COFFRE_REQUIRE_S3=1) without
#                               an S3 server; sets REGION
#   require_pg                  the same for PostgreSQL (COFFRE_REQUIRE_PG=1)
#   pg_schema NAME              makes an empty schema NAME_PID, dropped at exit;
#                               sets PG, a connection string whose tables are in it
#   sql QUERY                   runs QUERY there; prints rows as a|b
#   s3 METHOD PATH [CURL ARGS]  a SigV4 request; prints the status, body in $WORK/s3-body
#   s3_node NAME BUCKET [PG]    a vault data folder $WORK/NAME on BUCKET (prefix
#                               "fleet"), with its state in PostgreSQL if PG
#                               (a libpq connection string) is given
#   serve_node NAME             serves it; sets NODE_PID and NODE_BASE
#   one_vault_error             the last expect_exit's stderr is one
#                               "coffre-vault: error:" line

require_s3() {
  : "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
  if [[ -z ${COFFRE_S3_ENDPOINT:-} ]]; then
    [[ ${COFFRE_REQUIRE_S3:-0} == 1 ]] && fail "COFFRE_REQUIRE_S3=1 but no COFFRE_S3_ENDPOINT"
    skip "no COFFRE_S3_ENDPOINT (scripts/rgw.sh env gives one)"
  fi
  command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
  REGION=${COFFRE_S3_REGION:-default}
}

require_pg() {
  if [[ -z ${COFFRE_PG_CONNINFO:-} ]]; then
    [[ ${COFFRE_REQUIRE_PG:-0} == 1 ]] && fail "COFFRE_REQUIRE_PG=1 but no COFFRE_PG_CONNINFO"
    skip "no COFFRE_PG_CONNINFO (scripts/postgres.sh env gives one)"
  fi
  command -v psql >/dev/null || fail "psql is needed (scripts/install-deps.sh installs it)"
}

pg_schema() {
  _PG_SCHEMA=$1_$$
  PGOPTIONS=-cclient_min_messages=warning psql "$COFFRE_PG_CONNINFO" -qc "DROP SCHEMA IF EXISTS $_PG_SCHEMA CASCADE; CREATE SCHEMA $_PG_SCHEMA" ||
    fail "cannot make schema $_PG_SCHEMA"
  on_exit "PGOPTIONS=-cclient_min_messages=warning psql \"\$COFFRE_PG_CONNINFO\" -qc 'DROP SCHEMA IF EXISTS $_PG_SCHEMA CASCADE' >/dev/null 2>&1"
  PG="$COFFRE_PG_CONNINFO options=-csearch_path=$_PG_SCHEMA"
}

sql() { psql "$PG" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# curl signs the query as it is written: give it sorted and percent-encoded
# ("/" as %2F).
s3() {
  local method=$1 path=$2
  shift 2
  curl -s -o "$WORK/s3-body" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY" \
    -H "x-amz-content-sha256: $(sha256sum </dev/null | cut -d' ' -f1)" \
    "$@" "$COFFRE_S3_ENDPOINT$path"
}

# The credentials go in a file, as `scripts/rgw.sh env` prints them.
s3_node() {
  local data=$WORK/$1 bucket=$2 pg=${3:-}
  local init=(init)
  [[ -n $pg ]] && init+=(--postgres "$pg")
  "$COFFRE_VAULT_BIN" --data "$data" "${init[@]}" >"$WORK/init-$1.log" 2>&1 ||
    fail "init $1: $(cat "$WORK/init-$1.log")"
  printf 'COFFRE_S3_ACCESS_KEY=%s\nCOFFRE_S3_SECRET_KEY=%s\n' \
    "$COFFRE_S3_ACCESS_KEY" "$COFFRE_S3_SECRET_KEY" >"$data/s3.env"
  chmod 600 "$data/s3.env"
  # The [storage] table init wrote, filled in.
  sed -i 's/^\[storage\]$/[storage]\ntype = "s3"\nendpoint = "'"${COFFRE_S3_ENDPOINT//\//\\/}"'"\nregion = "'"$REGION"'"\nbucket = "'"$bucket"'"\nprefix = "fleet"\ncredentials_file = "s3.env"/' \
    "$data/vault.toml"
}

# Its log is $WORK/NAME.log.
serve_node() {
  # A log left from an earlier run of the node would be read as this one's.
  rm -f "$WORK/$1.log"
  "$COFFRE_VAULT_BIN" --data "$WORK/$1" serve --listen 127.0.0.1:0 2>"$WORK/$1.log" &
  NODE_PID=$!
  on_exit "kill -KILL $NODE_PID 2>/dev/null"
  local deadline=$((SECONDS + 20))
  until grep -q "^listening on " "$WORK/$1.log" 2>/dev/null; do
    kill -0 "$NODE_PID" 2>/dev/null || fail "node $1 exited: $(cat "$WORK/$1.log")"
    ((SECONDS < deadline)) || fail "node $1 not ready after 20 s"
    sleep 0.05
  done
  NODE_BASE=$(sed -n 's/^listening on //p' "$WORK/$1.log")
}

one_vault_error() {
  [[ $(wc -l <"$ERR") == 1 ]] && grep -q '^coffre-vault: error: ' "$ERR" ||
    fail "expected one 'coffre-vault: error:' line, got: $(cat "$ERR")"
}
