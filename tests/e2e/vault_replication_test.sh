#!/bin/bash
# End-to-end: replication between vaults in different locations
# (docs/sovereignty.md). A tenant whose placement is fr-par and fr-rbx backs
# up to a filesystem vault in fr-par; `coffre-vault replicate` sends it to a
# vault in fr-rbx on a real S3 server (the Ceph RGW of scripts/rgw.sh). A
# vault in fr-sbg is refused at both ends: the sender will not replicate
# there and the vault there will not take the tenant's backup, and both
# refusals are audited. A replication killed mid-way resumes and sends only
# what is missing; its lag is in `replication status --json` and /metrics.
# A prune on the primary reaches the replica only after the delete delay,
# and a replica holding another repository of the same name is left alone.
# With the primary stopped, a restore from the replica, with a restore
# token of that site, is bit for bit. Prints SKIP without an S3 server
# (fails with COFFRE_REQUIRE_S3=1).
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/fleet_lib.sh"
require_s3
BUCKET=vault-repl-$$
VAULT=$COFFRE_VAULT_BIN

# site NAME LOCATION [BUCKET]: a vault data folder $WORK/NAME in LOCATION,
# on BUCKET if given (else its own disk), with tenant acme whose placement
# is fr-par,fr-rbx (two copies) and an admin token in $WORK/NAME.admin.
site() {
  local name=$1 location=$2 bucket=${3:-}
  if [[ -n $bucket ]]; then
    s3_node "$name" "$bucket"
  else
    "$VAULT" --data "$WORK/$name" init >/dev/null 2>&1 || fail "init $name"
  fi
  sed -i "s/^#location = \"\"/location = \"$location\"/" "$WORK/$name/vault.toml"
  "$VAULT" --data "$WORK/$name" tenant add acme
  "$VAULT" --data "$WORK/$name" tenant placement acme fr-par,fr-rbx --copies 2
  "$VAULT" --data "$WORK/$name" token add --tenant acme --role admin >"$WORK/$name.admin"
  "$VAULT" --data "$WORK/$name" cert >"$WORK/$name.pem"
}
# as NAME coffre ARGS...: the agent with NAME's admin token and certificate.
as() {
  local name=$1
  shift
  coffre --token-file "$WORK/$name.admin" --cacert "$WORK/$name.pem" "$@"
}
replicate() {
  "$VAULT" --data "$WORK/par" replicate --tenant acme --token-file "$WORK/$1.admin" \
    --cacert "$WORK/$1.pem" --to "${2%/}" "${@:3}"
}

step "setup: fr-par on a disk, fr-rbx on S3, fr-sbg outside the tenant's placement"
[[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
site par fr-par
site rbx fr-rbx "$BUCKET"
site sbg fr-sbg
expect_exit 0 "$VAULT" --data "$WORK/par" tenant list
grep -q "^acme .*fr-par,fr-rbx (2 copies)" "$OUT" || fail "tenant list: $(cat "$OUT")"
serve_node par
PID_PAR=$NODE_PID PAR=$NODE_BASE
serve_node rbx
PID_RBX=$NODE_PID RBX=$NODE_BASE
serve_node sbg
PID_SBG=$NODE_PID SBG=$NODE_BASE
[[ $(curl -s --cacert "$WORK/rbx.pem" "$RBX/v1/health") == *'"location":"fr-rbx"'* ]] ||
  fail "the health answer does not name the location: $(curl -s --cacert "$WORK/rbx.pem" "$RBX/v1/health")"

step "back up two snapshots to fr-par"
SRC=$WORK/source/tree
mkdir -p "$WORK/source"
bash "$E2E_DIR/make_fidelity_tree.sh" "$SRC"
random_file "$SRC/old.bin" 8
expect_exit 0 as par init --repo "$PAR/acme/main"
expect_exit 0 as par backup --repo "$PAR/acme/main" "$SRC"
rm "$SRC/old.bin"
random_file "$SRC/big.bin" 24
expect_exit 0 as par backup --repo "$PAR/acme/main" "$SRC"

step "fr-sbg is refused at both ends, and both refusals are audited"
expect_exit --multiline 1 replicate sbg "$SBG"
one_vault_error
assert_stderr_has "placement: tenant 'acme' may be stored only in fr-par,fr-rbx"
assert_stderr_has "is in fr-sbg"
grep -q '"action":"replicate".*"status":403' "$WORK/par/audit.log" ||
  fail "the refused replication is not in fr-par's audit log: $(tail -n 3 "$WORK/par/audit.log")"
[[ -z $(find "$WORK/sbg/repos" -type f) ]] || fail "fr-sbg received files: $(find "$WORK/sbg/repos" -type f | head -3)"
rc=0
as sbg init --repo "$SBG/acme/main" >"$OUT" 2>"$ERR" || rc=$?
((rc != 0)) || fail "fr-sbg accepted a repository of acme"
assert_stderr_has "placement"
grep -q '"action":"create_repo".*"status":403' "$WORK/sbg/audit.log" ||
  fail "fr-sbg's refusal is not audited: $(cat "$WORK/sbg/audit.log")"

step "before any replica, the tenant is short of its copies, and says so"
expect_exit 0 "$VAULT" --data "$WORK/par" replication status
grep -q "^acme: 1 of 2 copies" "$OUT" || fail "replication status: $(cat "$OUT")"

step "a replication killed mid-way resumes and sends only what is missing"
# The binary itself in the background, so that the kill reaches it.
"$VAULT" --data "$WORK/par" replicate --tenant acme --token-file "$WORK/rbx.admin" \
  --cacert "$WORK/rbx.pem" --to "$RBX" --limit-upload 4MiB >"$WORK/kill.out" 2>"$WORK/kill.err" &
REP=$!
sleep 1
# One job per tenant at a time: a second is refused while the first runs.
expect_exit --multiline 1 replicate rbx "$RBX"
one_vault_error
assert_stderr_has "another replicate of acme to"
sleep 1
kill -KILL "$REP"
wait "$REP" 2>/dev/null || true
expect_exit 0 "$VAULT" --data "$WORK/par" replication status --json
behind=$(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["objects_behind"]')
done_before=$(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["objects_sent"]')
((behind > 0)) || fail "the killed pass left nothing behind: $(cat "$OUT")"
((done_before > 0)) || fail "the killed pass sent nothing in 2 s: $(cat "$OUT")"
expect_exit 0 replicate rbx "$RBX"
sent=$(sed -n 's/.*: \([0-9]*\) object(s).*/\1/p' "$ERR")
echo "   killed after $done_before object(s), $behind behind; the next pass sent $sent"
((sent > 0 && sent <= behind)) || fail "the second pass sent $sent with $behind missing: $(cat "$ERR")"
expect_exit 0 replicate rbx "$RBX"
grep -q ": 0 object(s)" "$ERR" || fail "a pass with nothing new sent something: $(cat "$ERR")"
expect_exit 0 "$VAULT" --data "$WORK/par" replication status --json
[[ $(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["objects_behind"]') == 0 && $(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["to_location"]') == fr-rbx ]] ||
  fail "status after the pass: $(cat "$OUT")"
[[ $(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["copies_made"]') == 2 && $(json_eval '[r for r in j if r["to_location"] == "fr-rbx"][0]["copies_wanted"]') == 2 ]] ||
  fail "the tenant's copies are not counted: $(cat "$OUT")"
curl -s --cacert "$WORK/par.pem" "$PAR/metrics" >"$WORK/metrics"
grep -q "^coffre_vault_replication_behind_objects{tenant=\"acme\",to=\"${RBX%/}\"} 0$" "$WORK/metrics" ||
  fail "no replication lag in /metrics: $(grep replication "$WORK/metrics")"
expect_exit 0 as rbx check --repo "$RBX/acme/main" --read-data

step "a prune on fr-par reaches fr-rbx only after the delete delay"
expect_exit 0 as par forget --repo "$PAR/acme/main" --keep-last 1
expect_exit 0 as par prune --repo "$PAR/acme/main"
expect_exit 0 replicate rbx "$RBX" --delete-delay 4s
expect_exit 0 as rbx snapshots --repo "$RBX/acme/main" --json
[[ $(json_eval 'len(j)') == 2 ]] || fail "the replica lost the forgotten snapshot before the delay"
# Within the delay, the forgotten snapshot can still be restored from there.
expect_exit 0 as rbx restore "$(json_eval 'j[0]["short_id"]')" --repo "$RBX/acme/main" \
  --target "$WORK/undo"
[[ -f $WORK/undo$SRC/old.bin ]] || fail "the old snapshot's file is not in the undo restore"
sleep 4
expect_exit 0 replicate rbx "$RBX" --delete-delay 4s
grep -q "0 delete(s) waiting" "$ERR" || fail "deletes still waiting after the delay: $(cat "$ERR")"
expect_exit 0 as rbx snapshots --repo "$RBX/acme/main" --json
[[ $(json_eval 'len(j)') == 1 ]] || fail "the replica still has $(json_eval 'len(j)') snapshots"

step "a replica holding another repository under the same name is not overwritten"
with_env COFFRE_PASSWORD=another-secret as rbx init --repo "$RBX/acme/other" >/dev/null 2>&1 ||
  fail "cannot init acme/other on fr-rbx"
expect_exit 0 as par init --repo "$PAR/acme/other"
expect_exit --multiline 1 replicate rbx "$RBX"
one_vault_error
assert_stderr_has "holds another repository"

step "with fr-par stopped, a restore token of fr-rbx restores bit for bit"
kill "$PID_PAR"
wait "$PID_PAR" 2>/dev/null || true
"$VAULT" --data "$WORK/rbx" token add --tenant acme --role restore >"$WORK/rbx.restore"
sleep 1.5  # the running vault reads its tenants.json again within a second
coffre --token-file "$WORK/rbx.restore" --cacert "$WORK/rbx.pem" \
  restore latest --repo "$RBX/acme/main" --target "$WORK/restored" >"$OUT" 2>"$ERR" ||
  fail "restore from the replica: $(cat "$ERR")"
compare_trees "$SRC" "$WORK/restored$SRC"
