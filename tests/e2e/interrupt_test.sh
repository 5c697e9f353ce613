#!/bin/bash
# End-to-end: a backup killed (SIGKILL) or interrupted (SIGINT, SIGTERM) in
# the middle leaves a repository that `check` accepts; the next backup
# succeeds and reuses the packs already stored (the repository grows by
# less than the data), and the result restores bit for bit.
source "$(dirname "$0")/lib.sh"

SRC=$WORK/src
DATA_MIB=300
mkdir "$SRC"
step "setup: $DATA_MIB MiB of random data"
for i in $(seq 1 10); do random_file "$SRC/file$i" $((DATA_MIB / 10)); done
DATA_BYTES=$(du_bytes "$SRC")

# start_backup REPO: starts a backup in the background and sets BG_PID.
# Background jobs of a script start with SIGINT ignored: env resets it.
start_backup() {
  env --default-signal=INT setsid "$COFFRE_BIN" backup --repo "$1" "$SRC" \
    >"$WORK/bg.stdout" 2>"$WORK/bg.stderr" </dev/null &
  BG_PID=$!
}

# wait_for_packs REPO N: waits until REPO/data holds N packs; fails if the
# backup ends first (then it could not be interrupted in the middle).
wait_for_packs() {
  local deadline=$((SECONDS + 300))
  while (($(find "$1/data" -type f | wc -l) < $2)); do
    if ! kill -0 "$BG_PID" 2>/dev/null; then
      wait "$BG_PID" || true
      fail "the backup ended before $2 packs existed (stderr: $(head -n 3 "$WORK/bg.stderr"))"
    fi
    if ((SECONDS >= deadline)); then
      kill -KILL "$BG_PID"
      fail "no $2 packs after 300 s"
    fi
    sleep 0.02
  done
}

# interrupt SIGNAL: sends SIGNAL to the background backup, sets BG_RC.
interrupt() {
  kill -s "$1" "$BG_PID"
  BG_RC=0
  wait "$BG_PID" || BG_RC=$?
  echo "backup stopped by SIG$1 after $(find "$REPO/data" -type f | wc -l) packs: exit $BG_RC"
}

# assert_no_snapshot: the interrupted run committed no snapshot.
assert_no_snapshot() {
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  [[ $(json_eval 'len(j)') == 0 ]] || fail "an interrupted backup committed a snapshot"
}

# resume_and_measure: a backup after an interruption succeeds, keeps every
# pack that was there and stores about the data not stored yet.
resume_and_measure() {
  local before after packs_before packs_bytes growth
  list_packs "$REPO" >"$WORK/packs_before"
  packs_before=$(wc -l <"$WORK/packs_before")
  packs_bytes=$(xargs -r stat -c %s <"$WORK/packs_before" | awk '{ s += $1 } END { print s + 0 }')
  before=$(du_bytes "$REPO")
  expect_exit 0 coffre backup --repo "$REPO" "$SRC"
  after=$(du_bytes "$REPO")
  growth=$((after - before))
  echo "repository: $before -> $after bytes (+$growth) for $DATA_BYTES bytes of data; $packs_before packs ($packs_bytes bytes) were there"
  list_packs "$REPO" | comm -23 "$WORK/packs_before" - >"$WORK/packs_lost"
  [[ ! -s $WORK/packs_lost ]] || fail "the resumed backup removed packs of the interrupted one: $(head -n 3 "$WORK/packs_lost")"
  ((growth < DATA_BYTES)) || fail "the repository grew by $growth bytes >= the data ($DATA_BYTES): packs were not reused"
  ((growth <= DATA_BYTES - packs_bytes + 16 * 1024 * 1024)) \
    || fail "the repository grew by $growth bytes though $packs_bytes of the $DATA_BYTES bytes were stored already"
}

killed_backup() {
  step "SIGKILL: start, wait for 2 packs, kill -9"
  REPO=$WORK/repo_kill
  init_repo "$REPO"
  start_backup "$REPO"
  wait_for_packs "$REPO" 2
  interrupt KILL
  ((BG_RC == 137)) || fail "kill -9 gave exit $BG_RC"

  step "SIGKILL: check passes on what is there"
  expect_exit 0 coffre check --repo "$REPO"
  assert_no_snapshot

  step "SIGKILL: the next backup succeeds and reuses the packs"
  resume_and_measure
  expect_exit 0 coffre check --repo "$REPO" --read-data

  step "SIGKILL: restore verifies"
  mkdir "$WORK/target"
  expect_exit 0 coffre restore --repo "$REPO" latest --target "$WORK/target"
  compare_trees "$SRC" "$WORK/target$SRC"
  rm -rf "$WORK/target" "$REPO"
}
section "SIGKILL in the middle of a backup" killed_backup

interrupted_backup() {
  step "SIGINT: exit 130 and one error line"
  REPO=$WORK/repo_int
  init_repo "$REPO"
  start_backup "$REPO"
  wait_for_packs "$REPO" 2
  interrupt INT
  ((BG_RC == 130)) || fail "SIGINT gave exit $BG_RC, want 130 (stderr: $(head -n 3 "$WORK/bg.stderr"))"
  cp "$WORK/bg.stderr" "$ERR"
  assert_one_error_line "backup interrupted by SIGINT"

  step "SIGINT: check passes"
  expect_exit 0 coffre check --repo "$REPO"
  assert_no_snapshot

  step "SIGTERM: exit 130, check passes"
  start_backup "$REPO"
  wait_for_packs "$REPO" $(($(find "$REPO/data" -type f | wc -l) + 1))
  interrupt TERM
  ((BG_RC == 130)) || fail "SIGTERM gave exit $BG_RC, want 130 (stderr: $(head -n 3 "$WORK/bg.stderr"))"
  cp "$WORK/bg.stderr" "$ERR"
  assert_one_error_line "backup interrupted by SIGTERM"
  expect_exit 0 coffre check --repo "$REPO"
  assert_no_snapshot

  step "SIGINT: the next backup succeeds and reuses the packs"
  resume_and_measure
  expect_exit 0 coffre check --repo "$REPO" --read-data
}
section "SIGINT and SIGTERM in the middle of a backup" interrupted_backup
