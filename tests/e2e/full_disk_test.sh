#!/bin/bash
# End-to-end: a repository on a 40 MiB file system that fills up during a
# backup: the backup fails with exit 9 and one line about space, loses
# nothing committed (check passes); restore and check work on the full
# disk and from a read-only mount; a smaller backup afterwards works and
# restores bit for bit. Needs root to mount a tmpfs; prints SKIP if not.
source "$(dirname "$0")/lib.sh"

MNT=$WORK/mnt
SRC=$WORK/src
REPO=$MNT/repo
mkdir "$MNT" "$SRC"

step "setup: a 40 MiB tmpfs for the repository"
mount -t tmpfs -o size=40m,mode=0755 tmpfs "$MNT" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount $(printf %q "$MNT") || umount -l $(printf %q "$MNT")"
init_repo "$REPO"

step "a first small backup"
mkdir -p "$SRC/docs/sub"
printf 'first\n' >"$SRC/docs/first.txt"
head -c 200000 /dev/urandom >"$SRC/docs/sub/blob.bin"
expect_exit 0 coffre backup --repo "$REPO" "$SRC"
expect_exit 0 coffre snapshots --repo "$REPO" --json
FIRST_ID=$(json_eval 'j[0]["id"]')

step "a 100 MiB backup fills the disk -> 9"
random_file "$SRC/big.bin" 100
expect_exit 9 coffre backup --repo "$REPO" "$SRC"
show_stderr
assert_stderr_has "space"
df -h "$MNT" | tail -n 1

step "on the full disk, restore and check still work: reading never needs a lock written"
head -c 100M /dev/zero >"$MNT/filler" 2>/dev/null || true
expect_exit 0 coffre check --repo "$REPO"
grep -q "without a read lock" "$OUT" || fail "check does not say it read without a lock: $(cat "$OUT")"
mkdir "$WORK/full-target"
expect_exit 0 coffre restore --repo "$REPO" "$FIRST_ID" --target "$WORK/full-target"
assert_stderr_has "without a read lock"
cmp "$SRC/docs/sub/blob.bin" "$WORK/full-target$SRC/docs/sub/blob.bin" || fail "restore from a full disk differs"
rm "$MNT/filler"

step "from a read-only mount, restore and check work too"
mount -o remount,ro "$MNT"
expect_exit 0 coffre check --repo "$REPO"
mkdir "$WORK/ro-target"
expect_exit 0 coffre restore --repo "$REPO" "$FIRST_ID" --target "$WORK/ro-target"
cmp "$SRC/docs/sub/blob.bin" "$WORK/ro-target$SRC/docs/sub/blob.bin" || fail "restore from a read-only mount differs"
mount -o remount,rw "$MNT"

step "check passes on what is there, the first snapshot is intact"
expect_exit 0 coffre check --repo "$REPO"
expect_exit 0 coffre snapshots --repo "$REPO" --json
[[ $(json_eval '[s["id"] for s in j]') == "[\"$FIRST_ID\"]" ]] \
  || fail "the failed backup changed the snapshot list: $(json_eval '[s["id"] for s in j]')"

step "without the big file, a backup succeeds again"
rm "$SRC/big.bin"
printf 'second\n' >"$SRC/docs/second.txt"
expect_exit 0 coffre backup --repo "$REPO" "$SRC"
expect_exit 0 coffre check --repo "$REPO" --read-data

step "restore verifies"
mkdir "$WORK/target"
expect_exit 0 coffre restore --repo "$REPO" latest --target "$WORK/target"
compare_trees "$SRC" "$WORK/target$SRC"
