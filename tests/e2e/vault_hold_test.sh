#!/bin/bash
# End-to-end: the deletion hold (docs/vault.md, "Deletion hold"). An agent
# with a `maintain` token forgets and prunes its own snapshots through a
# real coffre-vault; under the tenant's 14-day hold what it deleted is only
# hidden: the provider lists it with `coffre-vault held list` and puts it
# back with `held restore`, after which every snapshot restores bit for bit
# and `check --read-data` passes. A maintain token of a tenant without a
# hold deletes nothing. Once the hold has passed (the held areas' day moved
# back, as time would), `serve` and `held purge` remove it for good and the
# repository stays whole. On the local filesystem, and on a real S3 server
# (Ceph RGW) with the state in PostgreSQL.
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/fleet_lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
export COFFRE_PASSWORD=hold-test-pass

# The node under test: its data folder, and its vault command.
DATA=
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }
as() {
  local token=$1
  shift
  coffre --token-file "$WORK/$token" --cacert "$WORK/ca.pem" "$@"
}
http() {  # http TOKEN curl-args...: prints the status, the body goes to $OUT
  local token=$1
  shift
  curl -s --cacert "$WORK/ca.pem" -o "$OUT" -w '%{http_code}' \
    -H "Authorization: Bearer $(cat "$WORK/$token")" "$@"
}
snapshot_count() {
  expect_exit 0 as "$1" snapshots --repo "$2" --json
  json_eval 'len(j)'
}
vault_ok() {  # vault_ok ARGS...: coffre-vault must succeed; stdout in $OUT, stderr in $ERR
  "$COFFRE_VAULT_BIN" --data "$DATA" "$@" >"$OUT" 2>"$ERR" ||
    fail "coffre-vault $* failed: $(cat "$ERR")"
}

vault_fails() {  # vault_fails ARGS...: exit 1 and one "coffre-vault: error:" line
  local rc=0
  "$COFFRE_VAULT_BIN" --data "$DATA" "$@" >"$OUT" 2>"$ERR" || rc=$?
  ((rc == 1)) || fail "coffre-vault $* exited $rc, expected 1: $(cat "$ERR")"
  one_vault_error
}

# setup_tenants: acme with a 14-day hold and its tokens, bolt without one.
setup_tenants() {
  vault tenant add acme
  vault tenant hold acme 14
  vault tenant add bolt
  vault token add --tenant acme --role maintain >"$WORK/acme-maintain"
  vault token add --tenant acme --role restore >"$WORK/acme-restore"
  vault token add --tenant bolt --role maintain >"$WORK/bolt-maintain"
  vault cert >"$WORK/ca.pem"
  vault_ok tenant list
  grep -q '^acme .* 14d$' "$OUT" || fail "tenant list shows no hold: $(cat "$OUT")"
}

# three_backups URL SRC: three snapshots of SRC, a file changing each time;
# SRC as each one saw it is kept in $WORK/seen-1..3.
three_backups() {
  local url=$1 src=$2 i
  mkdir -p "$src"
  random_file "$src/kept.bin" 2
  expect_exit 0 as acme-maintain init --repo "$url"
  for i in 1 2 3; do
    random_file "$src/changing-$i.bin" 1
    ((i > 1)) && rm -f "$src/changing-$((i - 1)).bin"
    expect_exit 0 as acme-maintain backup --repo "$url" "$src"
    rm -rf "$WORK/seen-$i"
    cp -a "$src" "$WORK/seen-$i"
  done
}

# restore_all URL SRC: every snapshot restores the tree it was taken of.
restore_all() {
  local url=$1 src=$2 i=1 id
  expect_exit 0 as acme-restore snapshots --repo "$url" --json
  for id in $(json_eval '" ".join(s["id"] for s in sorted(j, key=lambda s: s["time"]))'); do
    rm -rf "$WORK/restored"
    expect_exit 0 as acme-restore restore "$id" --repo "$url" --target "$WORK/restored"
    compare_trees "$WORK/seen-$i" "$WORK/restored$src"
    i=$((i + 1))
  done
  ((i == 4)) || fail "expected 3 snapshots to restore, restored $((i - 1))"
}

# hold_flow URL SRC: forget and prune under the hold, list, restore.
hold_flow() {
  local url=$1 src=$2
  three_backups "$url" "$src"
  step "a maintain token forgets and prunes; under the hold nothing is removed"
  expect_exit 0 as acme-maintain forget --repo "$url" --keep-last 1
  expect_exit 0 as acme-maintain prune --repo "$url"
  [[ $(snapshot_count acme-restore "$url") == 1 ]] || fail "forget left more than one snapshot"
  vault_ok held list --tenant acme
  local today purge_from
  today=$(date -u +%F)
  purge_from=$(date -u -d "$today + 15 days" +%F)
  grep -q "^acme  *main  *$today  *[1-9][0-9]* .* $purge_from$" "$OUT" ||
    fail "held list does not show today's deletions, removed from $purge_from: $(cat "$OUT")"
  # Nothing of it is reachable through the API, even by the tenant's tokens.
  [[ $(http acme-maintain "$VAULT_BASE/v1/repos/acme/main~held~$(date -u +%Y%m%d)/snapshots/") == 400 ]] ||
    fail "a request reached a held area: $(cat "$OUT")"

  step "the provider restores what was deleted: every snapshot restores bit for bit"
  vault_ok held restore --tenant acme --repo main --since "$today"
  grep -q "restored [1-9][0-9]* object" "$ERR" || fail "held restore: $(cat "$ERR")"
  [[ $(snapshot_count acme-restore "$url") == 3 ]] || fail "the forgotten snapshots are not back"
  restore_all "$url" "$src"
  expect_exit 0 as acme-restore check --repo "$url" --read-data
  vault_ok held list --tenant acme
  [[ $(wc -l <"$OUT") == 1 ]] || fail "held areas left after restore: $(cat "$OUT")"
}

step "local storage: setup"
DATA=$WORK/vault
vault init >/dev/null 2>&1
setup_tenants
start_vault "$DATA"
VAULT_BASE=$BASE
hold_flow "$BASE/acme/main" "$WORK/src"

step "a maintain token of a tenant without a hold deletes nothing"
BOLT=$BASE/bolt/main
mkdir -p "$WORK/bolt-src"
random_file "$WORK/bolt-src/a.bin" 1
expect_exit 0 as bolt-maintain init --repo "$BOLT"
expect_exit 0 as bolt-maintain backup --repo "$BOLT" "$WORK/bolt-src"
expect_exit 0 as bolt-maintain backup --repo "$BOLT" "$WORK/bolt-src"
expect_exit 5 as bolt-maintain forget --repo "$BOLT" --keep-last 1
assert_stderr_has "deletion hold"
[[ $(snapshot_count bolt-maintain "$BOLT") == 2 ]] || fail "a maintain token deleted without a hold"

step "once the hold has passed, serve removes what it kept; the repository stays whole"
expect_exit 0 as acme-maintain forget --repo "$BASE/acme/main" --keep-last 1
expect_exit 0 as acme-maintain prune --repo "$BASE/acme/main"
# Fifteen days later: the areas' day moves back, as the calendar would.
old_day=$(date -u -d '15 days ago' +%Y%m%d)
for area in "$DATA"/repos/acme/main~held~*; do mv "$area" "${area%~*}~$old_day"; done
kill -TERM "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true
start_vault "$DATA"
deadline=$((SECONDS + 20))
until grep -q "hold purge: removed [1-9][0-9]* object" "$WORK/serve.log"; do
  ((SECONDS < deadline)) || fail "serve did not purge: $(cat "$WORK/serve.log")"
  sleep 0.1
done
compgen -G "$DATA/repos/acme/main~held~*" >/dev/null && fail "held areas left after the purge"
vault_ok tenant list
[[ $(snapshot_count acme-restore "$BASE/acme/main") == 1 ]] || fail "the purge changed the snapshots"
rm -rf "$WORK/restored"
expect_exit 0 as acme-restore restore latest --repo "$BASE/acme/main" --target "$WORK/restored"
compare_trees "$WORK/seen-3" "$WORK/restored$WORK/src"
expect_exit 0 as acme-restore check --repo "$BASE/acme/main" --read-data

step "held purge from the command line, and what it leaves before the hold ends"
snap=$(ls "$DATA/repos/acme/main/snapshots" | head -n 1)
[[ $(http acme-maintain -X DELETE "$BASE/v1/repos/acme/main/snapshots/$snap") == 204 ]] ||
  fail "maintain delete: $(cat "$OUT")"
vault_ok held purge
grep -q "removed 0 held object" "$ERR" || fail "purge removed held objects before the hold ended: $(cat "$ERR")"
for area in "$DATA"/repos/acme/main~held~*; do mv "$area" "${area%~*}~$old_day"; done
vault_ok held purge
grep -q "removed 1 held object" "$ERR" || fail "held purge: $(cat "$ERR")"
vault_fails held restore --tenant acme --repo main --since 2026-13-01
grep -q "bad day" "$ERR" || fail "a bad day is not refused clearly: $(cat "$ERR")"
vault_fails tenant hold acme -2
grep -q "0 to 3650 days" "$ERR" || fail "a negative hold is not refused clearly: $(cat "$ERR")"
vault_fails held restore --tenant acme --repo gone
kill -TERM "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

s3_flow() {
  require_s3
  require_pg
  pg_schema hold
  BUCKET=vault-hold-$$
  [[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
  s3_node s3 "$BUCKET" "$PG"
  DATA=$WORK/s3
  setup_tenants
  serve_node s3
  # serve_node's on_exit is lost with this section's subshell: stop the
  # node when the subshell ends, or it would outlive the test.
  trap 'kill -KILL $NODE_PID 2>/dev/null' EXIT
  VAULT_BASE=$NODE_BASE
  hold_flow "${NODE_BASE%/}/acme/main" "$WORK/src-s3"
}
if [[ -n ${COFFRE_S3_ENDPOINT:-} || ${COFFRE_REQUIRE_S3:-0} == 1 ]]; then
  section "on S3 (Ceph RGW), the state in PostgreSQL" s3_flow
else
  echo "note: no COFFRE_S3_ENDPOINT: the S3 half is not run"
fi
