#!/bin/bash
# End-to-end: `coffre forget` removes named snapshots (id, prefix, latest)
# and those --keep-* rules do not keep; --dry-run removes nothing; --json
# says what stays and why; bad combinations are usage errors (exit 2); what
# remains still restores and passes check.
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
mkdir -p "$SRC"
init_repo "$REPO"
ids=()
for i in 1 2 3 4 5; do
  echo "version $i" >"$SRC/file"
  tag=()
  [[ $i == 1 ]] && tag=(--tag keep-me)
  expect_exit 0 coffre backup --repo "$REPO" --json "${tag[@]}" "$SRC"
  ids+=("$(json_eval 'j["snapshot_id"]')")
done
count() { coffre snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

step "usage errors"
expect_exit 2 coffre forget --repo "$REPO"
expect_exit 2 coffre forget --repo "$REPO" --keep-last 1 "${ids[0]}"
expect_exit 2 coffre forget --repo "$REPO" --keep-within 3x
[[ $(count) == 5 ]] || fail "a refused forget removed something"

step "--dry-run lists, removes nothing"
expect_exit 0 coffre forget --repo "$REPO" --keep-last 2 --keep-tag keep-me --dry-run --json
[[ $(json_eval 'len(j["remove"])') == 2 ]] || fail "dry run should plan 2 removals: $(cat "$OUT")"
[[ $(json_eval 'j["removed"]') == 0 ]] || fail "a dry run removed snapshots"
[[ $(count) == 5 ]] || fail "a dry run removed snapshots"

step "--keep-last 2 --keep-tag keep-me keeps the 2 newest and the tagged one"
expect_exit 0 coffre forget --repo "$REPO" --keep-last 2 --keep-tag keep-me --json
python3 - "$OUT" "${ids[@]}" <<'PY' || fail "wrong choice: $(cat "$OUT")"
import json, sys
j = json.load(open(sys.argv[1])); ids = sys.argv[2:]
keep = {k["id"]: k["reasons"] for k in j["keep"]}
assert set(keep) == {ids[0], ids[3], ids[4]}, keep
assert keep[ids[0]] == ["tag:keep-me"] and keep[ids[4]] == ["last"], keep
assert sorted(j["remove"]) == sorted([ids[1], ids[2]]) and j["removed"] == 2, j
PY
[[ $(count) == 3 ]] || fail "expected 3 snapshots left"

step "forget by prefix and latest"
expect_exit 0 coffre forget --repo "$REPO" "${ids[3]:0:8}" latest
[[ $(count) == 1 ]] || fail "expected 1 snapshot left"
expect_exit 6 coffre forget --repo "$REPO" "${ids[4]:0:8}"

step "what remains restores and checks"
expect_exit 0 coffre restore latest --repo "$REPO" --target "$WORK/out"
[[ $(cat "$WORK/out$SRC/file") == "version 1" ]] || fail "the tagged snapshot does not restore"
expect_exit 0 coffre check --repo "$REPO" --read-data
