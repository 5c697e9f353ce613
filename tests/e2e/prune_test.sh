#!/bin/bash
# End-to-end: `coffre prune` frees the space of forgotten snapshots and
# repacks what is half used; --dry-run changes nothing; and real `coffre
# backup` processes running while `coffre forget` + `coffre prune` run,
# round after round, lose nothing: every kept snapshot restores bit for bit
# and check --read-data passes.
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
mkdir -p "$SRC"
init_repo "$REPO"
packs() { find "$REPO/data" -type f | wc -l; }

basics() {
  random_file "$SRC/a" 4
  random_file "$SRC/b" 1
  expect_exit 0 coffre backup --repo "$REPO" --json "$SRC"
  local first
  first=$(json_eval 'j["snapshot_id"]')
  rm "$SRC/a"
  expect_exit 0 coffre backup --repo "$REPO" "$SRC"
  expect_exit 0 coffre forget --repo "$REPO" "$first"

  step "--dry-run counts and changes nothing"
  local before
  before=$(packs)
  expect_exit 0 coffre prune --repo "$REPO" --dry-run --json
  [[ $(json_eval 'j["dry_run"]') == true && $(json_eval 'j["unused_packs"] + j["repacked_packs"]') -ge 1 ]] ||
    fail "the dry run should find a pack to condemn: $(cat "$OUT")"
  [[ $(packs) == "$before" && -z $(ls "$REPO/locks") ]] || fail "a dry run changed the repository"

  step "prune deletes what only the forgotten snapshot used"
  expect_exit 0 coffre prune --repo "$REPO" --json
  [[ $(json_eval 'j["deleted_bytes"]') -ge $((4 * 1024 * 1024)) ]] ||
    fail "prune should free the 4 MiB file: $(cat "$OUT")"
  [[ -z $(ls "$REPO/locks") ]] || fail "prune left locks or plans behind"
  expect_exit 0 coffre check --repo "$REPO" --read-data
  expect_exit 0 coffre restore latest --repo "$REPO" --target "$WORK/out"
  compare_trees "$SRC" "$WORK/out$SRC"

  step "usage errors"
  expect_exit 2 coffre prune --repo "$REPO" --grace 3x
  expect_exit 2 coffre prune --repo "$REPO" --repack-below 150
}
section "prune frees what forget left; --dry-run changes nothing" basics

concurrent() {
  local round rounds=${PRUNE_ROUNDS:-8}
  mkdir -p "$WORK/expect"
  for ((round = 1; round <= rounds; round++)); do
    # Two of four files change each round: packs become sparse or unused.
    # One host, one clock: --clock-skew 0s lets a prune delete as soon as
    # the backups that began before its plan are done.
    random_file "$SRC/f$((round % 4))" 2
    random_file "$SRC/g$((round % 3))" 1
    rm -rf "$WORK/expect/r$round"
    cp -a "$SRC" "$WORK/expect/r$round"
    coffre backup --repo "$REPO" --tag "r$round" "$SRC" >"$WORK/backup.out" 2>"$WORK/backup.err" &
    local backup_pid=$!
    local maint_rc=0
    {
      coffre forget --repo "$REPO" --keep-last 2 --json >/dev/null &&
        coffre prune --repo "$REPO" --repack-below 90 --clock-skew 0s --json >>"$WORK/prune.json"
    } 2>"$WORK/prune.err" || maint_rc=$?
    local backup_rc=0
    wait "$backup_pid" || backup_rc=$?
    ((backup_rc == 0)) || fail "round $round: backup exited $backup_rc: $(head -n 5 "$WORK/backup.err")"
    ((maint_rc == 0)) || fail "round $round: forget/prune exited $maint_rc: $(head -n 5 "$WORK/prune.err")"
  done
  expect_exit 0 coffre forget --repo "$REPO" --keep-last 2
  expect_exit 0 coffre prune --repo "$REPO" --json
  python3 - "$WORK/prune.json" <<'PY' || fail "the prunes never deleted anything while backups ran"
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
assert sum(r["deleted_packs"] for r in runs) > 0, runs
PY

  step "check --read-data, and every kept snapshot restores bit for bit"
  expect_exit 0 coffre check --repo "$REPO" --read-data
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  local id tag
  while read -r id tag; do
    rm -rf "$WORK/restored"
    expect_exit 0 coffre restore "$id" --repo "$REPO" --target "$WORK/restored"
    compare_trees "$WORK/expect/$tag" "$WORK/restored$SRC"
  done < <(json_eval '"\n".join(s["id"] + " " + s["tags"][0] for s in j)')
  [[ -z $(ls "$REPO/locks") ]] || fail "locks left behind: $(ls "$REPO/locks")"
}
section "backups running while forget and prune run lose nothing" concurrent
