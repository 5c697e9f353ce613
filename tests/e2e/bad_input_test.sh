#!/bin/bash
# End-to-end: every bad input gets its exit code of docs/cli.md and one clear
# line on stderr, and loses nothing committed: wrong or missing passphrase,
# a folder that is not a repository, a newer format version, an unreadable
# file during backup, a corrupt and a truncated pack, unknown and ambiguous
# snapshot ids, usage errors. Each case is a section: all of them run even
# when one fails.
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
mkdir -p "$SRC/small/sub"
printf 'alpha\n' >"$SRC/small/a.txt"
printf 'beta\n' >"$SRC/small/sub/b.txt"
head -c 300000 /dev/urandom >"$SRC/small/c.bin"

step "setup: init and a first backup"
init_repo "$REPO"
expect_exit 0 coffre backup --repo "$REPO" "$SRC"

wrong_passphrase() {
  expect_exit 5 with_env COFFRE_PASSWORD="wrong passphrase" coffre snapshots --repo "$REPO"
  expect_exit 5 with_env COFFRE_PASSWORD="wrong passphrase" coffre restore --repo "$REPO" latest --target "$WORK/never"
  [[ ! -e $WORK/never ]] || [[ -z $(ls -A "$WORK/never") ]] || fail "a refused restore wrote files"
}
section "wrong passphrase -> 5" wrong_passphrase

no_passphrase() {
  expect_exit 5 with_env -u COFFRE_PASSWORD -u COFFRE_PASSWORD_FILE coffre snapshots --repo "$REPO" </dev/null
}
section "no passphrase source and stdin not a terminal -> 5" no_passphrase

not_a_repository() {
  mkdir "$WORK/empty" "$WORK/not_a_repo"
  printf 'hello\n' >"$WORK/not_a_repo/config.txt"
  mkdir "$WORK/not_a_repo/data"
  expect_exit 6 coffre snapshots --repo "$WORK/empty"
  expect_exit 6 coffre snapshots --repo "$WORK/not_a_repo"
  expect_exit 6 coffre snapshots --repo "$WORK/does/not/exist"
  expect_exit 6 coffre backup --repo "$WORK/empty" "$SRC"
  [[ -z $(ls -A "$WORK/empty") ]] || fail "backup into a folder that is no repository wrote into it"
}
section "not a repository -> 6" not_a_repository

# A copy of the repository whose config says the version after the one this
# build writes (2, kRepositoryVersion).
make_newer_repo() {
  rm -rf "$WORK/newer"
  cp -a "$REPO" "$WORK/newer"
  [[ $(head -c 4 "$WORK/newer/config") == CFCF ]] || fail "REPO/config does not start with CFCF"
  [[ $(od -An -tu1 -j4 -N1 "$WORK/newer/config" | tr -d ' ') == 2 ]] || fail "config version byte is not 2"
  printf '\x03' | dd of="$WORK/newer/config" bs=1 seek=4 conv=notrunc status=none
}
newer_version() {
  make_newer_repo
  expect_exit 7 coffre snapshots --repo "$WORK/newer"
  show_stderr
  assert_stderr_has "version"
  expect_exit 7 coffre backup --repo "$WORK/newer" "$SRC"
  assert_stderr_has "version"
  expect_exit 7 coffre restore --repo "$WORK/newer" latest --target "$WORK/t_newer"
}
section "config version 3 -> 7, naming the version" newer_version

# core/format/config.h: config is in clear "so a reader can refuse a newer
# format before asking for a passphrase". A cron job without a passphrase
# source must hear about the version, not about the passphrase.
newer_version_before_passphrase() {
  make_newer_repo
  expect_exit 7 with_env -u COFFRE_PASSWORD coffre snapshots --repo "$WORK/newer" </dev/null
  assert_stderr_has "version"
}
section "a newer version is refused before asking for a passphrase -> 7" newer_version_before_passphrase

unknown_snapshot() {
  expect_exit 6 coffre restore --repo "$REPO" "$(printf '%064d' 0 | tr 0 f)" --target "$WORK/t_unknown"
  expect_exit 6 coffre ls --repo "$REPO" 0000000000000000000000000000000000000000000000000000000000000000
  expect_exit 6 coffre ls --repo "$REPO" 00000000
}
section "unknown snapshot id -> 6" unknown_snapshot

# Two snapshots sharing 8 hex digits would take ~2^16 backups, so a second
# name for the one snapshot file is made beside it: resolving the prefix
# must see two candidates and refuse to choose.
ambiguous_prefix() {
  local id twin rc=0
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  id=$(json_eval 'j[0]["id"]')
  twin=${id:0:8}$(printf '%056d' 0)
  [[ $twin != "$id" ]] || twin=${id:0:8}$(printf '%056d' 1)
  cp "$REPO/snapshots/$id" "$REPO/snapshots/$twin"
  coffre ls --repo "$REPO" "${id:0:8}" >"$OUT" 2>"$ERR" || rc=$?
  rm "$REPO/snapshots/$twin"
  ((rc != 0 && rc < 128)) || fail "ambiguous prefix ${id:0:8}: exit $rc, want an error"
  assert_one_error_line "ls ${id:0:8} (ambiguous)"
  show_stderr
  assert_stderr_has "${id:0:8}"
  expect_exit 0 coffre ls --repo "$REPO" "${id:0:8}"
}
section "ambiguous prefix -> error" ambiguous_prefix

usage_errors() {
  expect_exit 2 coffre frobnicate --repo "$REPO"
  expect_exit 2 coffre backup --repo "$REPO" --no-such-option "$SRC"
  expect_exit 2 coffre restore --repo "$REPO" latest      # no --target
  expect_exit 2 coffre snapshots --repo                    # --repo without its value
  expect_exit 2 coffre ls --repo "$REPO"                   # no SNAPSHOT
  expect_exit 2 coffre
}
section "usage errors -> 2" usage_errors

# The backup runs as nobody, so root's CAP_DAC_OVERRIDE cannot read the
# mode-000 file anyway.
unreadable_file() {
  if ! setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    echo "note: setpriv cannot switch to nobody here; unreadable-file case not run"
    return 0
  fi
  local nsrc=$WORK/nobody_src nrepo=$WORK/nobody_repo
  mkdir -p "$nsrc/sub" "$WORK/nobody_home"
  printf 'readable one\n' >"$nsrc/ok1"
  head -c 100000 /dev/urandom >"$nsrc/sub/ok2"
  printf 'secret\n' >"$nsrc/secret"
  init_repo "$nrepo"
  chown -R 65534:65534 "$nsrc" "$nrepo" "$WORK/nobody_home"
  chmod 000 "$nsrc/secret"
  as_nobody() {
    with_env HOME="$WORK/nobody_home" XDG_CACHE_HOME="$WORK/nobody_home/.cache" \
      setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
  }
  expect_exit --multiline 3 as_nobody timeout 300 setsid "$COFFRE_BIN" backup --repo "$nrepo" --json "$nsrc"
  show_stderr
  assert_stderr_has "$nsrc/secret"
  [[ $(json_eval 'j["status"]') == partial ]] || fail "backup --json status is not 'partial'"
  [[ $(json_eval 'j["errors"]') == 1 ]] || fail "backup --json errors is not 1"
  expect_exit 0 coffre snapshots --repo "$nrepo" --json
  [[ $(json_eval 'len(j)') == 1 ]] || fail "the partial backup saved no snapshot"
  [[ $(json_eval 'j[0]["stats"]["errors"]') -ge 1 ]] || fail "the partial snapshot's stats.errors is 0"
  mkdir "$WORK/nobody_target"
  expect_exit 0 coffre restore --repo "$nrepo" latest --target "$WORK/nobody_target"
  compare_trees "$nsrc" "$WORK/nobody_target$nsrc" --exclude secret
}
section "unreadable file during a backup as nobody -> 3, snapshot saved" unreadable_file

# --- damaged packs -------------------------------------------------------------
# Backup 1 stores A (and small files), backup 2 adds B, so the biggest pack
# new in backup 2 holds only B. Backup 3 adds C: it writes new trees for
# $CSRC and its parents, so snapshot 3 needs nothing from B's pack but B.
step "damaged packs: setup (A, then B in its own backup, then C)"
CREPO=$WORK/crepo
CSRC=$WORK/csrc
mkdir -p "$CSRC/small"
cp -a "$SRC/small/." "$CSRC/small/"
random_file "$CSRC/A" 21
init_repo "$CREPO"
expect_exit 0 coffre backup --repo "$CREPO" "$CSRC"
list_packs "$CREPO" >"$WORK/packs1"
random_file "$CSRC/B" 21
expect_exit 0 coffre backup --repo "$CREPO" "$CSRC"
list_packs "$CREPO" >"$WORK/packs2"
printf 'gamma\n' >"$CSRC/C"
expect_exit 0 coffre backup --repo "$CREPO" "$CSRC"
B_PACK=$(comm -13 "$WORK/packs1" "$WORK/packs2" | xargs -r ls -S | sed -n 1p)
[[ -n $B_PACK ]] || fail "the backup of B added no pack under $CREPO/data"
B_PACK_ID=$(basename "$B_PACK")
SIZE=$(stat -c %s "$B_PACK")
cp "$B_PACK" "$WORK/b_pack.orig"
echo "pack of B: $B_PACK_ID ($SIZE bytes)"

# A pack is named by its id; 12 hex digits are accepted as naming it.
assert_names_pack() { assert_stderr_has "${B_PACK_ID:0:12}"; }

# The damaged repository: check --read-data exits 4 naming the pack; restore
# exits 4 naming the pack and B, and brings everything else back bit for bit.
expect_damage_reported() {
  expect_exit --multiline 4 coffre check --repo "$CREPO" --read-data
  show_stderr
  assert_names_pack
  local target=$WORK/restore_damaged
  rm -rf "$target"
  mkdir "$target"
  expect_exit --multiline 4 coffre restore --repo "$CREPO" latest --target "$target"
  show_stderr
  grep -q '^coffre: error: ' "$ERR" || fail "restore printed no 'coffre: error:' line"
  assert_names_pack
  assert_stderr_has "$CSRC/B"
  compare_trees "$CSRC" "$target$CSRC" --exclude B
}

flip_byte() {  # flip_byte FILE OFFSET
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((byte ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

corrupt_pack() {
  flip_byte "$B_PACK" $((SIZE / 2))
  cmp -s "$B_PACK" "$WORK/b_pack.orig" && fail "flip_byte changed nothing"
  expect_damage_reported
}
section "corrupt pack: one byte flipped in the middle -> 4" corrupt_pack
cp "$WORK/b_pack.orig" "$B_PACK"

repaired_pack() {
  expect_exit 0 coffre check --repo "$CREPO" --read-data
}
section "the repaired pack checks clean" repaired_pack

truncated_pack() {
  truncate -s $((SIZE / 2)) "$B_PACK"
  expect_damage_reported
}
section "truncated pack -> 4" truncated_pack
cp "$WORK/b_pack.orig" "$B_PACK"
