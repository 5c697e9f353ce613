#!/bin/bash
# End-to-end: the frozen repositories in tests/golden (version 1, and
# version 2 with trees in packs of their own) still open, check clean, list
# and restore bit for bit; a backup into a copy of the version-1 one keeps
# it version 1 and readable; and a copy with one flipped byte in a pack is
# reported as damaged, naming the pack.
source "$(dirname "$0")/lib.sh"

# reads_clean VERSION: the golden repository of that version, copied.
reads_clean() {
  local golden=$COFFRE_SOURCE_DIR/tests/golden/v$1 repo=$WORK/repo-v$1
  cp -r "$golden/repo" "$repo"  # the checkout stays untouched
  export COFFRE_PASSWORD=golden-v$1
  expect_exit 0 coffre check --read-data --repo "$repo"
  expect_exit 0 coffre snapshots --repo "$repo" --json
  [[ $(json_eval 'j[0]["host"]') == golden ]] || fail "snapshot host should be 'golden'"
  [[ $(json_eval 'j[0]["paths"][0]') == /var/tmp/coffre-golden/src ]] || fail "snapshot path changed"
  expect_exit 0 coffre restore latest --repo "$repo" --target "$WORK/out-v$1"
  local got=$WORK/out-v$1/var/tmp/coffre-golden/src
  for f in hello.txt dir/data.bin dir/numbers.txt; do
    cmp "$golden/src/$f" "$got/$f" || fail "$f differs from the golden content"
  done
  [[ $(readlink "$got/link") == dir/numbers.txt ]] || fail "symlink target changed"
  [[ $(xxd -s 4 -l 1 -p "$repo/config") == "0$1" ]] || fail "the config is no longer version $1"
}
section "version-1 repository reads and restores bit for bit" reads_clean 1
section "version-2 repository reads and restores bit for bit" reads_clean 2

v1_stays_v1() {
  local repo=$WORK/v1-written
  cp -r "$COFFRE_SOURCE_DIR/tests/golden/v1/repo" "$repo"
  export COFFRE_PASSWORD=golden-v1
  mkdir -p "$WORK/more"
  echo "new" >"$WORK/more/new.txt"
  expect_exit 0 coffre backup --repo "$repo" "$WORK/more"
  [[ $(xxd -s 4 -l 1 -p "$repo/config") == 01 ]] || fail "a backup upgraded the version-1 config"
  expect_exit 0 coffre check --read-data --repo "$repo"
  expect_exit 0 coffre restore latest --repo "$repo" --target "$WORK/more-out"
  cmp "$WORK/more/new.txt" "$WORK/more-out$WORK/more/new.txt" || fail "new.txt differs"
}
section "a backup into a version-1 repository keeps it version 1" v1_stays_v1

damaged_copy() {
  local repo=$WORK/damaged pack
  cp -r "$COFFRE_SOURCE_DIR/tests/golden/v1/repo" "$repo"
  export COFFRE_PASSWORD=golden-v1
  pack=$(find "$repo/data" -type f | head -n 1)
  printf '\xff' | dd of="$pack" bs=1 seek=100 conv=notrunc status=none
  expect_exit --multiline 4 coffre check --read-data --repo "$repo"
  assert_stderr_has "$(basename "$pack")"
}
section "a flipped byte in the golden pack is reported with the pack's name" damaged_copy
