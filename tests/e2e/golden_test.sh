#!/bin/bash
# End-to-end: the frozen version-1 repository in tests/golden/v1 still opens,
# checks clean, lists and restores bit for bit; and a copy with one flipped
# byte in its pack is reported as damaged, naming the pack.
source "$(dirname "$0")/lib.sh"

GOLDEN=$COFFRE_SOURCE_DIR/tests/golden/v1
REPO=$WORK/repo
cp -r "$GOLDEN/repo" "$REPO"   # the checkout stays untouched
export COFFRE_PASSWORD=golden-v1

reads_clean() {
  expect_exit 0 coffre check --read-data --repo "$REPO"
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  [[ $(json_eval 'j[0]["host"]') == golden ]] || fail "snapshot host should be 'golden'"
  [[ $(json_eval 'j[0]["paths"][0]') == /var/tmp/coffre-golden/src ]] || fail "snapshot path changed"
  expect_exit 0 coffre restore latest --repo "$REPO" --target "$WORK/out"
  local got=$WORK/out/var/tmp/coffre-golden/src
  for f in hello.txt dir/data.bin dir/numbers.txt; do
    cmp "$GOLDEN/src/$f" "$got/$f" || fail "$f differs from the golden content"
  done
  [[ $(readlink "$got/link") == dir/numbers.txt ]] || fail "symlink target changed"
}
section "version-1 repository reads and restores bit for bit" reads_clean

damaged_copy() {
  local pack
  pack=$(find "$REPO/data" -type f | head -n 1)
  printf '\xff' | dd of="$pack" bs=1 seek=100 conv=notrunc status=none
  expect_exit --multiline 4 coffre check --read-data --repo "$REPO"
  assert_stderr_has "$(basename "$pack")"
}
section "a flipped byte in the golden pack is reported with the pack's name" damaged_copy
