#!/bin/bash
# End-to-end: --nice, --ionice and --limit-upload. The priorities are in
# effect while the command runs: a --from-command probe (a child of the
# backup's threads) stores its own nice value and I/O class in the snapshot,
# with the options given before or after the command. --limit-upload paces
# a backup (3 MiB at 1 MiB/s cannot finish in under ~2 s) and the data
# restores intact. Bad values are usage errors (exit 2).
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
mkdir -p "$SRC"
echo hello >"$SRC/file"
init_repo "$REPO"

# The probe prints the nice value (field 19 of /proc/PID/stat) and the I/O
# class of the shell coffre started for it.
PROBE="/probe/priority.txt=awk '{ print \$19 }' /proc/\$\$/stat; ionice -p \$\$"

probe_of_latest() {
  local out
  out=$(mktemp -d "$WORK/out.XXXXXX")
  coffre restore latest --repo "$REPO" --target "$out" >/dev/null
  cat "$out/probe/priority.txt"
}

priorities_apply() {
  command -v ionice >/dev/null || skip "ionice (util-linux) is not installed"
  expect_exit 0 coffre --nice 7 --ionice idle backup --repo "$REPO" "$SRC" --from-command "$PROBE"
  local probe
  probe=$(probe_of_latest)
  [[ $probe == $'7\nidle' ]] || fail "the probe saw '$probe', not nice 7 and idle"

  # After the command name, as global options may be.
  expect_exit 0 coffre backup --repo "$REPO" "$SRC" --from-command "$PROBE" --nice 12 --ionice best-effort:6
  probe=$(probe_of_latest)
  [[ $probe == $'12\nbest-effort: prio 6' ]] || fail "the probe saw '$probe', not nice 12 and best-effort 6"
}
section "--nice and --ionice are in effect while the backup runs" priorities_apply

bad_values() {
  expect_exit 2 coffre --nice 20 snapshots --repo "$REPO"
  assert_stderr_has "--nice"
  expect_exit 2 coffre --ionice realtime snapshots --repo "$REPO"
  assert_stderr_has "best-effort"
  expect_exit 2 coffre --ionice best-effort:8 snapshots --repo "$REPO"
  expect_exit 2 coffre --limit-upload fast snapshots --repo "$REPO"
  assert_stderr_has "--limit-upload"
  expect_exit 2 coffre --limit-upload 1.5MiB snapshots --repo "$REPO"
}
section "bad --nice, --ionice and --limit-upload values are usage errors" bad_values

limit_upload() {
  local src=$WORK/big
  mkdir -p "$src"
  random_file "$src/blob" 3
  local start end
  start=$(date +%s%N)
  expect_exit 0 coffre backup --repo "$REPO" "$src" --limit-upload 1MiB/s
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000))
  echo "    3 MiB at 1 MiB/s took $ms ms"
  # 1 MiB of burst, then at least 2 MiB at 1 MiB/s.
  ((ms >= 1900)) || fail "the backup took $ms ms: the upload was not paced"
  local out
  out=$(mktemp -d "$WORK/out.XXXXXX")
  expect_exit 0 coffre restore latest --repo "$REPO" --target "$out"
  cmp "$src/blob" "$out$src/blob" || fail "the paced backup restores different data"
  expect_exit 0 coffre backup --repo "$REPO" "$src" --limit-upload 0
}
section "--limit-upload paces the upload and loses nothing" limit_upload
