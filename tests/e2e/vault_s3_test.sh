#!/bin/bash
# End-to-end: a coffre-vault whose storage is a real S3 server (the Ceph
# RADOS Gateway that scripts/rgw.sh starts; scripts/test.sh exports its
# COFFRE_S3_* variables), two nodes sharing the bucket and their tenants
# and tokens (PostgreSQL, scripts/postgres.sh). The fidelity tree backs up
# through one vault node and restores bit for bit through the other; the
# objects are in the bucket, none under the nodes' data folders; a node
# killed in the middle of a backup through "URL_A,URL_B" leaves the agent
# to finish through the other, and the snapshot checks and restores; behind
# the shipped HAProxy configuration, backups go on after a node dies; a node
# with a wrong secret or a missing bucket refuses to start with one line
# naming the cause. Prints SKIP without an S3 server or PostgreSQL (fails
# with COFFRE_REQUIRE_S3=1 or COFFRE_REQUIRE_PG=1).
source "$(dirname "$0")/lib.sh"

source "$E2E_DIR/fleet_lib.sh"
require_s3
require_pg
BUCKET=vault-e2e-$$
pg_schema vault_s3

step "setup: a bucket, two vault nodes on it, one tenant"
[[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
s3_node a "$BUCKET" "$PG"
s3_node b "$BUCKET" "$PG"
# Made through a, known to b: the state is shared.
"$COFFRE_VAULT_BIN" --data "$WORK/a" tenant add acme
"$COFFRE_VAULT_BIN" --data "$WORK/a" token add --tenant acme --role admin >"$WORK/token"
"$COFFRE_VAULT_BIN" --data "$WORK/a" cert >"$WORK/ca-a.pem"
"$COFFRE_VAULT_BIN" --data "$WORK/b" cert >"$WORK/ca-b.pem"

step "back up the fidelity tree through node a"
start_vault "$WORK/a"
grep -q "^storage: $COFFRE_S3_ENDPOINT" "$WORK/serve.log" ||
  fail "node a does not say it stores in S3: $(cat "$WORK/serve.log")"
SRC=$WORK/source/tree
mkdir -p "$WORK/source"
bash "$E2E_DIR/make_fidelity_tree.sh" "$SRC"
random_file "$WORK/source/tree/big.bin" 12
URL_A=$BASE/acme/main
as() {
  local ca=$1
  shift
  coffre --token-file "$WORK/token" --cacert "$WORK/$ca" "$@"
}
expect_exit 0 as ca-a.pem init --repo "$URL_A"
expect_exit 0 as ca-a.pem backup --repo "$URL_A" "$SRC"
kill "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

step "the objects are in the bucket, not under the nodes' folders"
[[ $(s3 GET "/$BUCKET?list-type=2&prefix=fleet%2Frepos%2Facme%2Fmain%2F") == 200 ]] ||
  fail "cannot list the bucket: $(cat "$WORK/s3-body")"
grep -q "<Key>fleet/repos/acme/main/data/" "$WORK/s3-body" || fail "no pack in the bucket"
grep -q "<Key>fleet/repos/acme/main/config</Key>" "$WORK/s3-body" ||
  [[ $(s3 HEAD "/$BUCKET/fleet/repos/acme/main/config") == 200 ]] || fail "no config in the bucket"
[[ -z $(find "$WORK/a" "$WORK/b" -path '*/repos/*' -type f) ]] ||
  fail "objects were written to a node's folder: $(find "$WORK/a" "$WORK/b" -path '*/repos/*' -type f | head -3)"

step "restore through node b, which shares the bucket, bit for bit"
start_vault "$WORK/b"
URL_B=$BASE/acme/main
expect_exit 0 as ca-b.pem restore latest --repo "$URL_B" --target "$WORK/restored"
compare_trees "$SRC" "$WORK/restored$SRC"
expect_exit 0 as ca-b.pem check --repo "$URL_B" --read-data
kill "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

step "a node killed in the middle of a backup: the agent goes on through the other"
# The nodes of one fleet serve one certificate (two self-signed ones with
# the same subject cannot be trusted side by side): b takes a's.
cp "$WORK/a/tls/cert.pem" "$WORK/a/tls/key.pem" "$WORK/b/tls/"
serve_node a
PID_A=$NODE_PID URL_A=$NODE_BASE/acme/main
serve_node b
PID_B=$NODE_PID URL_B=$NODE_BASE/acme/main
random_file "$WORK/source/tree/more.bin" 40
coffre --token-file "$WORK/token" --cacert "$WORK/ca-a.pem" --limit-upload 8MiB \
  backup --repo "$URL_A,$URL_B" "$SRC" >"$WORK/failover.out" 2>"$WORK/failover.err" &
BACKUP=$!
sleep 2
kill -KILL "$PID_A"
rc=0
wait "$BACKUP" || rc=$?
((rc == 0)) || fail "the backup did not survive its node: exit $rc: $(tail -n 3 "$WORK/failover.err")"
# Node a died two seconds into a 5-second upload: b took the rest.
received=$(curl -s --cacert "$WORK/ca-a.pem" "${URL_B%/acme/main}/metrics" |
  sed -n 's/^coffre_vault_bytes_received_total \([0-9]*\).*/\1/p')
((${received:-0} > 10000000)) || fail "node b received ${received:-no} bytes: the backup did not go on through it"
expect_exit 0 as ca-a.pem check --repo "$URL_B" --read-data
rm -rf "$WORK/restored"
expect_exit 0 as ca-a.pem restore latest --repo "$URL_B" --target "$WORK/restored"
compare_trees "$SRC" "$WORK/restored$SRC"
kill "$PID_B"
wait "$PID_B" 2>/dev/null || true

step "behind HAProxy (scripts/haproxy-coffre-vault.cfg): a node dies, backups go on"
if command -v haproxy >/dev/null; then
  serve_node a
  PID_A=$NODE_PID URL_A=$NODE_BASE/acme/main
  serve_node b
  PID_B=$NODE_PID URL_B=$NODE_BASE/acme/main
  source "$E2E_DIR/../../scripts/lib/free_ports.sh"
  read -r LB_PORT < <(free_ports 1)
  hostport() { local u=${1#https://}; echo "${u%%/*}"; }
  sed -e "s/LISTEN/127.0.0.1:$LB_PORT/" -e "s/NODE_A/$(hostport "$URL_A")/" \
    -e "s/NODE_B/$(hostport "$URL_B")/" \
    "$E2E_DIR/../../scripts/haproxy-coffre-vault.cfg" >"$WORK/haproxy.cfg"
  haproxy -c -f "$WORK/haproxy.cfg" >"$WORK/haproxy-check.log" 2>&1 ||
    fail "haproxy refuses the shipped configuration: $(cat "$WORK/haproxy-check.log")"
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  LB_PID=$!
  on_exit "kill $LB_PID 2>/dev/null"
  sleep 2.5  # two health checks a second apart mark both nodes up
  URL_LB=https://127.0.0.1:$LB_PORT/acme/main
  random_file "$WORK/source/tree/lb1.bin" 4
  expect_exit 0 as ca-a.pem backup --repo "$URL_LB" "$SRC"
  kill -KILL "$PID_A"
  random_file "$WORK/source/tree/lb2.bin" 4
  expect_exit 0 as ca-a.pem backup --repo "$URL_LB" "$SRC"
  sleep 2.5  # two failed checks a second apart
  grep -q "node_a is DOWN" "$WORK/haproxy.log" ||
    fail "HAProxy's health check did not take node a out: $(cat "$WORK/haproxy.log")"
  expect_exit 0 as ca-a.pem check --repo "$URL_LB" --read-data
  rm -rf "$WORK/restored"
  expect_exit 0 as ca-a.pem restore latest --repo "$URL_LB" --target "$WORK/restored"
  compare_trees "$SRC" "$WORK/restored$SRC"
  kill "$LB_PID" "$PID_B" 2>/dev/null
  wait "$PID_B" 2>/dev/null || true
else
  [[ ${COFFRE_REQUIRE_S3:-0} == 1 ]] && fail "haproxy is not installed (COFFRE_S3_DEPS=1 scripts/install-deps.sh)"
  echo "   haproxy is not installed: skipped (COFFRE_S3_DEPS=1 scripts/install-deps.sh installs it)"
fi

step "a node with a wrong secret or a missing bucket refuses to start, saying why"
sed -i 's/^COFFRE_S3_SECRET_KEY=.*/COFFRE_S3_SECRET_KEY=wrong-secret/' "$WORK/b/s3.env"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/b" serve --listen 127.0.0.1:0
one_vault_error
grep -q "refused the credentials" "$ERR" || fail "wrong secret: $(cat "$ERR")"
grep -q "wrong-secret" "$ERR" && fail "the secret is in the message: $(cat "$ERR")"
sed -i "s/^COFFRE_S3_SECRET_KEY=.*/COFFRE_S3_SECRET_KEY=$COFFRE_S3_SECRET_KEY/" "$WORK/b/s3.env"
sed -i "s/^bucket = .*/bucket = \"no-such-bucket-$$\"/" "$WORK/b/vault.toml"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/b" serve --listen 127.0.0.1:0
one_vault_error
grep -q "no bucket 'no-such-bucket-$$'" "$ERR" || fail "missing bucket: $(cat "$ERR")"
