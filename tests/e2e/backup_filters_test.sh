#!/bin/bash
# End-to-end: what `coffre backup` leaves out and what it takes from commands.
# --exclude (globs, "!" re-includes), --exclude-file, --exclude-if-present,
# --exclude-caches and -x/--one-file-system each leave out exactly what they
# name (checked on a real restore); `--from-command PATH='sqlite3 DB .dump'`
# stores the dump as a file that loads back into sqlite3 with the same
# rows; a failing command fails the backup (exit 1) and saves no snapshot;
# malformed rules and command paths are usage errors (exit 2).
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
init_repo "$REPO"

count_snapshots() {
  coffre snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# Every entry below DIR, relative, sorted, one a line.
entries() { (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort); }

# Restores the latest snapshot into a fresh folder and prints its path.
restore_latest() {
  local out
  out=$(mktemp -d "$WORK/out.XXXXXX")
  coffre restore latest --repo "$REPO" --target "$out" >/dev/null
  echo "$out"
}

mkdir -p "$SRC"/{app/node_modules/lib,app/src,home/bob/.cache,home/eve,logs,private/deep,cache,fakecache,data}
echo 'module' >"$SRC/app/node_modules/lib/index.js"
echo 'main' >"$SRC/app/src/main.c"
echo 'object' >"$SRC/app/src/main.o"
echo 'scratch' >"$SRC/app/scratch.tmp"
echo 'cached' >"$SRC/home/bob/.cache/blob"
echo 'notes' >"$SRC/home/bob/notes"
echo 'eve' >"$SRC/home/eve/file"
echo 'noise' >"$SRC/logs/a.log"
echo 'keep' >"$SRC/logs/keep.log"
echo 'secret' >"$SRC/private/deep/secret"
: >"$SRC/private/.nobackup"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n' >"$SRC/cache/CACHEDIR.TAG"
echo 'cached' >"$SRC/cache/blob"
echo 'not a tag' >"$SRC/fakecache/CACHEDIR.TAG"
echo 'data' >"$SRC/data/file"

patterns_and_file() {
  cat >"$WORK/excludes" <<EOF
# build output

*.o
   $SRC/home/*/.cache
EOF
  expect_exit 0 coffre backup --repo "$REPO" "$SRC" --exclude '*.tmp' --exclude node_modules \
    --exclude '*.log' --exclude '!keep.log' --exclude-file "$WORK/excludes"
  local out got
  out=$(restore_latest)
  got=$(entries "$out$SRC")
  for gone in app/node_modules app/scratch.tmp app/src/main.o home/bob/.cache logs/a.log; do
    ! grep -qx "$gone" <<<"$got" || fail "$gone should have been excluded"
  done
  for kept in app/src/main.c home/bob/notes home/eve/file logs/keep.log private/deep/secret \
      cache/blob data/file; do
    grep -qx "$kept" <<<"$got" || fail "$kept is missing from the restore"
  done
  # Everything that is kept came back bit for bit.
  compare_trees "$SRC" "$out$SRC" --exclude app/node_modules --exclude app/scratch.tmp \
    --exclude app/src/main.o --exclude home/bob/.cache --exclude logs/a.log
}
section "--exclude and --exclude-file leave out what the globs name" patterns_and_file

markers() {
  expect_exit 0 coffre backup --repo "$REPO" "$SRC" --exclude-if-present .nobackup --exclude-caches
  local out got
  out=$(restore_latest)
  got=$(entries "$out$SRC")
  ! grep -q '^private' <<<"$got" || fail "the folder holding .nobackup was kept"
  ! grep -q '^cache$\|^cache/' <<<"$got" || fail "the folder with a valid CACHEDIR.TAG was kept"
  grep -qx 'fakecache/CACHEDIR.TAG' <<<"$got" || fail "a folder with a bad CACHEDIR.TAG was left out"
  compare_trees "$SRC" "$out$SRC" --exclude private --exclude cache
}
section "--exclude-if-present and --exclude-caches leave out marked folders whole" markers

one_file_system() {
  local mnt=$1 out
  echo 'on tmpfs' >"$mnt/other-fs"
  expect_exit 0 coffre backup --repo "$REPO" -x "$SRC"
  out=$(restore_latest)
  [[ -d $out$SRC/mnt ]] || fail "the mount point itself is missing"
  [[ -z $(ls -A "$out$SRC/mnt") ]] || fail "-x descended into the tmpfs"
  [[ $(stat -c %a "$out$SRC/mnt") == 750 ]] || fail "the mount point lost its metadata"
  [[ -f $out$SRC/data/file ]] || fail "-x lost a file of the same file system"
  expect_exit 0 coffre backup --repo "$REPO" --one-file-system "$SRC" "$mnt"
  out=$(restore_latest)
  [[ -f $out$SRC/mnt/other-fs ]] || fail "a mount point named as a backup path was not walked"
}
MNT=$SRC/mnt
mkdir -p "$MNT"
if mount -t tmpfs -o size=4m,mode=0750 tmpfs "$MNT" 2>/dev/null; then
  on_exit "umount $(printf %q "$MNT") 2>/dev/null || umount -l $(printf %q "$MNT") 2>/dev/null"
  section "-x keeps a mount point as an empty folder" one_file_system "$MNT"
  umount "$MNT" || umount -l "$MNT"
else
  echo "== [$TEST_NAME] cannot mount a tmpfs here (not root?): -x not tested"
fi
rmdir "$MNT"

sqlite_dump() {
  local db=$WORK/app.db
  sqlite3 "$db" <<'SQL'
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, balance REAL, note BLOB);
INSERT INTO customer VALUES (1, 'Durand', 12.5, x'00ff10'), (2, 'Ñoño ''quoted''', -3, NULL);
WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
  INSERT INTO customer SELECT i, 'client ' || i, i * 1.5, randomblob(64) FROM n;
CREATE INDEX by_name ON customer (name);
SQL
  expect_exit 0 coffre backup --repo "$REPO" --json "$SRC/data" \
    --from-command "/var/backups/coffre-e2e/app.sql=sqlite3 $db .dump"
  [[ $(json_eval 'j["status"]') == ok ]] || fail "backup status is not ok: $(cat "$OUT")"
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  [[ $(json_eval '"/var/backups/coffre-e2e/app.sql" in j[-1]["paths"]') == true ]] ||
    fail "the dump's path is not among the snapshot's paths: $(json_eval 'j[-1]["paths"]')"
  expect_exit 0 coffre ls latest --repo "$REPO"
  grep -qx /var/backups/coffre-e2e/app.sql "$OUT" || fail "ls does not show the dump"
  local out
  out=$(restore_latest)
  local dump=$out/var/backups/coffre-e2e/app.sql
  [[ -f $dump ]] || fail "the dump was not restored"
  [[ $(stat -c %a "$dump") == 600 ]] || fail "the dump's mode is $(stat -c %a "$dump"), not 600"
  sqlite3 "$db" .dump | cmp - "$dump" || fail "the restored dump differs from sqlite3's"
  sqlite3 "$WORK/loaded.db" <"$dump"
  local query='SELECT id, name, balance, hex(note) FROM customer ORDER BY id'
  [[ $(sqlite3 "$WORK/loaded.db" "$query" | sha256sum) == $(sqlite3 "$db" "$query" | sha256sum) ]] ||
    fail "the data loaded back from the dump differs"
  [[ $(sqlite3 "$WORK/loaded.db" 'SELECT count(*) FROM customer') == 5000 ]] || fail "rows are missing"
}
section "--from-command stores a sqlite3 dump that loads back with the same data" sqlite_dump

failing_command() {
  local before
  before=$(count_snapshots)
  expect_exit 1 coffre backup --repo "$REPO" "$SRC/data" --from-command '/dumps/app.sql=echo partial; exit 3'
  assert_stderr_has "echo partial; exit 3"
  assert_stderr_has "exited with code 3"
  [[ $(count_snapshots) == "$before" ]] || fail "a snapshot was saved despite the failed command"
  expect_exit 0 coffre check --repo "$REPO"
}
section "a failing --from-command fails the backup and saves no snapshot" failing_command

usage_errors() {
  local before
  before=$(count_snapshots)
  expect_exit 2 coffre backup --repo "$REPO" "$SRC" --exclude-file "$WORK/no-such-file"
  assert_stderr_has "no-such-file"
  expect_exit 2 coffre backup --repo "$REPO" "$SRC" --exclude 'bad[pattern'
  assert_stderr_has "bad[pattern"
  expect_exit 2 coffre backup --repo "$REPO" "$SRC" --from-command "$SRC/data/dump.sql=true"
  assert_stderr_has "inside the backup path"
  expect_exit 2 coffre backup --repo "$REPO" --from-command 'relative.sql=true'
  expect_exit 2 coffre backup --repo "$REPO" --from-command 'no-equals-sign'
  expect_exit 2 coffre backup --repo "$REPO"
  [[ $(count_snapshots) == "$before" ]] || fail "a refused backup saved a snapshot"
}
section "malformed rules and command paths are usage errors" usage_errors
