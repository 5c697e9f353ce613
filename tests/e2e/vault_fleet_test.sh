#!/bin/bash
# End-to-end: two vault nodes that share one bucket (the Ceph RADOS Gateway
# of scripts/rgw.sh) and one state (the PostgreSQL of scripts/postgres.sh),
# as docs/state.md specifies. A token added or revoked through one node's
# commands is honoured by the other within the stated bound (2 s); a token
# limited to one repository is limited on every node; uploads racing
# through both nodes for one tenant never store a byte past its quota, nor
# do two agents backing up at once, and the shared usage is what the bucket
# holds; both nodes' events are in the shared audit trail; `usage recount`
# mends a count; a node or an init that cannot reach the database says so
# in one line. Prints SKIP without an S3 server or PostgreSQL (fails with
# COFFRE_REQUIRE_S3=1 or COFFRE_REQUIRE_PG=1).
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/fleet_lib.sh"
require_s3
require_pg
BUCKET=vault-fleet-$$
pg_schema vault_fleet

# status METHOD URL TOKEN [CURL ARGS...]: the HTTP status of one request.
status() {
  local method=$1 url=$2 token=$3
  shift 3
  local how=(-X "$method")
  [[ $method == HEAD ]] && how=(--head)  # no body to wait for
  [[ $method == POST ]] && how=(--data-binary '')  # Content-Length: 0
  curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/ca.pem" "${how[@]}" \
    -H "Authorization: Bearer $token" "$@" "$url"
}
# answers CODE METHOD URL TOKEN: whether the request gets CODE now.
answers() { [[ $(status "$2" "$3" "$4") == "$1" ]]; }
now() { date +%s.%N; }
# seconds_until CMD...: how long until CMD succeeds, polled every 50 ms;
# fails past 10 s.
seconds_until() {
  local start
  start=$(now)
  until "$@"; do
    (($(echo "$(now) - $start > 10" | bc))) && fail "not within 10 s: $*"
    sleep 0.05
  done
  echo "$(now) - $start" | bc
}
# bucket_bytes TENANT: the bytes of every object of TENANT in the bucket.
bucket_bytes() {
  [[ $(s3 GET "/$BUCKET?list-type=2&prefix=fleet%2Frepos%2F$1%2F") == 200 ]] ||
    fail "cannot list the bucket: $(cat "$WORK/s3-body")"
  grep -q '<IsTruncated>true' "$WORK/s3-body" && fail "the listing is paged: make the test smaller"
  grep -o '<Size>[0-9]*</Size>' "$WORK/s3-body" | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}'
}
usage_of() { sql "SELECT bytes FROM coffre_usage WHERE tenant = '$1'"; }

step "setup: a bucket, two nodes sharing it and one PostgreSQL state"
[[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
s3_node a "$BUCKET" "$PG"
s3_node b "$BUCKET" "$PG"
sed -i 's/^#node_name = ""/node_name = "node-a"/' "$WORK/a/vault.toml"
sed -i 's/^#node_name = ""/node_name = "node-b"/' "$WORK/b/vault.toml"
grep -q '^type = "postgres"' "$WORK/a/vault.toml" || fail "init --postgres did not set [state]"
[[ ! -e $WORK/a/tenants.json ]] || fail "a postgres vault has a tenants.json"
# One fleet, one certificate.
cp "$WORK/a/tls/cert.pem" "$WORK/a/tls/key.pem" "$WORK/b/tls/"
"$COFFRE_VAULT_BIN" --data "$WORK/a" cert >"$WORK/ca.pem"
"$COFFRE_VAULT_BIN" --data "$WORK/a" tenant add acme
ADMIN=$("$COFFRE_VAULT_BIN" --data "$WORK/b" token add --tenant acme --role admin)
serve_node a
PID_A=$NODE_PID A=$NODE_BASE
serve_node b
PID_B=$NODE_PID B=$NODE_BASE
grep -q '^state: postgres' "$WORK/a.log" || fail "node a does not say where its state is: $(cat "$WORK/a.log")"
got=$(status POST "$A/v1/repos/acme/main" "$ADMIN")
[[ $got == 201 ]] || fail "node a answers $got to a token made through b: $(cat "$WORK/a.log")"

step "a token added through one node is honoured by the other within 2 s"
TOKEN=$("$COFFRE_VAULT_BIN" --data "$WORK/a" token add --tenant acme --role restore)
took=$(seconds_until answers 200 HEAD "$B/v1/repos/acme/main" "$TOKEN")
echo "   node b honoured it after $took s"
(($(echo "$took <= 2" | bc))) || fail "node b took $took s to honour a new token (bound: 2 s)"

step "a token revoked through one node is refused by the other within 2 s"
"$COFFRE_VAULT_BIN" --data "$WORK/b" token revoke "$(cut -d_ -f2 <<<"$TOKEN")"
took=$(seconds_until answers 401 HEAD "$A/v1/repos/acme/main" "$TOKEN")
echo "   node a refused it after $took s"
(($(echo "$took <= 2" | bc))) || fail "node a took $took s to refuse a revoked token (bound: 2 s)"
# The command ran beside node b, not in it: b too learns it from the database.
took=$(seconds_until answers 401 HEAD "$B/v1/repos/acme/main" "$TOKEN")
(($(echo "$took <= 2" | bc))) || fail "node b took $took s to refuse a revoked token (bound: 2 s)"

step "a token limited to one repository is limited on every node"
ONE=$("$COFFRE_VAULT_BIN" --data "$WORK/a" token add --tenant acme --role backup --repo main)
[[ $(status POST "$A/v1/repos/acme/other" "$ADMIN") == 201 ]] || fail "cannot create acme/other"
for node in "$A" "$B"; do seconds_until answers 200 HEAD "$node/v1/repos/acme/main" "$ONE" >/dev/null; done
[[ $(status HEAD "$B/v1/repos/acme/other" "$ONE") == 403 ]] || fail "node b lets a main-only token reach acme/other"
[[ $(status HEAD "$A/v1/repos/acme/other" "$ONE") == 403 ]] || fail "node a lets a main-only token reach acme/other"

step "uploads racing through both nodes never store a byte past the quota"
QUOTA=1048576 SIZE=65536
"$COFFRE_VAULT_BIN" --data "$WORK/a" tenant add race --quota "$QUOTA"
RACE=$("$COFFRE_VAULT_BIN" --data "$WORK/a" token add --tenant race --role backup)
# Made by a command beside the nodes: each learns of it within the bound.
for node in "$A" "$B"; do seconds_until answers 404 HEAD "$node/v1/repos/race/r" "$RACE" >/dev/null; done
[[ $(status POST "$A/v1/repos/race/r" "$RACE") == 201 ]] || fail "cannot create race/r"
mkdir -p "$WORK/objects"
for i in $(seq 1 40); do
  head -c $SIZE /dev/urandom >"$WORK/objects/$i"
done
for i in $(seq 1 40); do
  node=$A
  ((i % 2)) && node=$B
  name=$(sha256sum "$WORK/objects/$i" | cut -d' ' -f1)
  { status PUT "$node/v1/repos/race/r/data/$name" "$RACE" --data-binary "@$WORK/objects/$i"; echo; } \
    >"$WORK/objects/$i.status" &
done
wait_all() { local p; for p in $(jobs -p); do [[ $p == "$PID_A" || $p == "$PID_B" ]] || wait "$p"; done; }
wait_all
created=$(cat "$WORK"/objects/*.status | grep -c '^201$' || true)
full=$(cat "$WORK"/objects/*.status | grep -c '^507$' || true)
echo "   40 uploads of 64 KiB for a 1 MiB quota: $created stored, $full refused (507)"
((created + full == 40)) || fail "unexpected answers: $(sort "$WORK"/objects/*.status | uniq -c | tr '\n' ' ')"
stored=$(bucket_bytes race)
((stored <= QUOTA)) || fail "the bucket holds $stored bytes of race, past its quota of $QUOTA"
((stored + SIZE > QUOTA)) || fail "only $stored bytes stored: refusals came before the quota was full"
[[ $(usage_of race) == "$stored" ]] || fail "the shared usage says $(usage_of race), the bucket $stored"

step "two agents backing up at once through both nodes stay within the quota"
QUOTA=$((6 * 1048576))
"$COFFRE_VAULT_BIN" --data "$WORK/b" tenant add agents --quota 6MiB
AGENTS=$("$COFFRE_VAULT_BIN" --data "$WORK/b" token add --tenant agents --role backup)
echo "$AGENTS" >"$WORK/agents.token"
for node in "$A" "$B"; do seconds_until answers 404 HEAD "$node/v1/repos/agents/x" "$AGENTS" >/dev/null; done
for n in 1 2; do
  mkdir -p "$WORK/src$n"
  random_file "$WORK/src$n/data.bin" 4
done
agent() { coffre --token-file "$WORK/agents.token" --cacert "$WORK/ca.pem" "$@"; }
expect_exit 0 agent init --repo "$A/agents/one"
expect_exit 0 agent init --repo "$B/agents/two"
agent backup --repo "$A/agents/one" "$WORK/src1" >"$WORK/agent1.out" 2>"$WORK/agent1.err" &
P1=$!
agent backup --repo "$B/agents/two" "$WORK/src2" >"$WORK/agent2.out" 2>"$WORK/agent2.err" &
P2=$!
rc1=0 rc2=0
wait "$P1" || rc1=$?
wait "$P2" || rc2=$?
echo "   agents exited $rc1 and $rc2 (8 MiB of new data for a 6 MiB quota)"
((rc1 != 0 || rc2 != 0)) || fail "both agents stored 8 MiB within a 6 MiB quota"
grep -qi "space\|quota" "$WORK/agent1.err" "$WORK/agent2.err" ||
  fail "the refused agent does not say why: $(tail -n 2 "$WORK/agent1.err" "$WORK/agent2.err")"
stored=$(bucket_bytes agents)
((stored <= QUOTA)) || fail "the bucket holds $stored bytes of agents, past its quota of $QUOTA"
[[ $(usage_of agents) == "$stored" ]] || fail "the shared usage says $(usage_of agents), the bucket $stored"
# Both nodes report the one shared count.
for node in "$A" "$B"; do
  got=$(curl -s --cacert "$WORK/ca.pem" "$node/metrics" |
    sed -n 's/^coffre_vault_tenant_stored_bytes{tenant="agents"} \([0-9]*\).*/\1/p')
  [[ $got == "$stored" ]] || fail "$node/metrics says agents stores ${got:-nothing}, not $stored"
done

step "both nodes' events are in the shared audit trail"
seen() { [[ $(sql "SELECT count(DISTINCT node) FROM coffre_audit WHERE tenant = 'race'") == 2 ]]; }
seconds_until seen >/dev/null
refused=$(sql "SELECT count(*) FROM coffre_audit WHERE tenant = 'race' AND action = 'put' AND status = 507")
[[ $refused == "$full" ]] || fail "the trail has $refused refused uploads of race, not $full"
[[ $(sql "SELECT count(*) FROM coffre_audit WHERE node NOT IN ('node-a', 'node-b')") == 0 ]] ||
  fail "an audit row names neither node"

step "usage recount mends a count that drifted"
sql "UPDATE coffre_usage SET bytes = 1 WHERE tenant = 'agents'" >/dev/null
expect_exit 0 "$COFFRE_VAULT_BIN" --data "$WORK/b" usage recount
[[ $(usage_of agents) == "$stored" ]] || fail "after recount: $(usage_of agents), the bucket $stored"
[[ $(usage_of race) == "$(bucket_bytes race)" ]] || fail "recount changed race's count"
expect_exit 0 "$COFFRE_VAULT_BIN" --data "$WORK/a" tenant list
grep -q "^agents" "$OUT" || fail "tenant list does not list agents: $(cat "$OUT")"

step "a node or an init that cannot reach the database says so in one line"
kill "$PID_A" "$PID_B"
wait "$PID_A" "$PID_B" 2>/dev/null || true
source "$E2E_DIR/../../scripts/lib/free_ports.sh"
read -r DEAD < <(free_ports 1)
sed -i "s/^conninfo = .*/conninfo = \"host=127.0.0.1 port=$DEAD dbname=coffre user=coffre connect_timeout=2\"/" \
  "$WORK/a/vault.toml"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/a" serve --listen 127.0.0.1:0
one_vault_error
assert_stderr_has "cannot reach the shared state"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/c" init \
  --postgres "host=127.0.0.1 port=$DEAD dbname=coffre user=coffre password=s3cr3t-pw connect_timeout=2"
one_vault_error
assert_stderr_has "cannot reach the shared state"
grep -q "s3cr3t-pw" "$ERR" && fail "the password is in the message: $(cat "$ERR")"
[[ ! -e $WORK/c/vault.toml ]] || fail "a failed init left a vault.toml behind"
