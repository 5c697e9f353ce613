#!/bin/bash
# End-to-end: a snapshot whose tree holds a hostile name ('..', a path with
# '/', an absolute path) cannot make `restore` write outside its target: the
# restore fails with one error line and nothing beside the target changes.
#
# coffre itself never writes such a tree, so the snapshot is made by the
# test tool tests/support/make_hostile_repo.cc (COFFRE_HOSTILE_BIN, set by
# CTest): `coffre_make_hostile_repo REPO NAME` commits a snapshot whose root
# tree holds one regular file literally named NAME with the content "pwned".
: "${COFFRE_HOSTILE_BIN:?COFFRE_HOSTILE_BIN must name the coffre_make_hostile_repo tool}"
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
META=$WORK/meta   # the listings, kept out of what they list
mkdir "$META"
step "setup"
init_repo "$REPO"

# Everything below $WORK except the target (and the repository, whose locks
# come and go), with sizes and mtimes, so a file written or changed anywhere
# outside the target shows up.
snapshot_outside() {
  (cd "$WORK" && find . -path ./outer/inner/target -prune -o -path ./meta -prune -o -path ./repo -prune \
    -o -path ./last.stdout -prune -o -path ./last.stderr -prune -o -printf '%p %y %s %T@\n' | LC_ALL=C sort)
}

# hostile_case NAME: commits a snapshot holding NAME, restores it, asserts
# the error and that nothing outside the target changed.
hostile_case() {
  local NAME=$1 rc=0
  "$COFFRE_HOSTILE_BIN" "$REPO" "$NAME" >"$OUT" 2>"$ERR" || rc=$?
  ((rc == 0)) || fail "coffre_make_hostile_repo failed (exit $rc: $(head -n 2 "$ERR"))"

  rm -rf "$WORK/outer"
  mkdir -p "$WORK/outer/inner/target" "$WORK/outer/inner/canary" "$WORK/outer/inner/cwd"
  for absolute in /abs /etc/x /x; do
    [[ ! -e $absolute ]] || fail "$absolute exists before the restore; cannot tell if the restore wrote it"
  done
  snapshot_outside >"$META/outside.before"

  rc=0
  (cd "$WORK/outer/inner/cwd" && coffre restore --repo "$REPO" latest --target "$WORK/outer/inner/target") \
    >"$OUT" 2>"$ERR" || rc=$?
  show_stderr

  for absolute in /abs /etc/x /x; do
    if [[ -e $absolute ]]; then
      rm -f "$absolute"
      fail "restoring the name '$NAME' wrote $absolute"
    fi
  done
  snapshot_outside >"$META/outside.after"
  diff "$META/outside.before" "$META/outside.after" >&2 \
    || fail "restoring the name '$NAME' changed entries outside the target (diff above)"
  [[ -z $(ls -A "$WORK/outer/inner/canary") ]] || fail "restoring the name '$NAME' wrote into the canary dir"
  [[ -z $(ls -A "$WORK/outer/inner/cwd") ]] || fail "restoring the name '$NAME' wrote into the working directory"
  if grep -rlF pwned "$WORK" --exclude-dir=target --exclude-dir=meta --exclude=last.stdout --exclude=last.stderr >&2; then
    fail "a file with the hostile content exists outside the target (listed above)"
  fi
  ((rc != 0 && rc < 128)) || fail "restoring the name '$NAME' exited $rc, want an error (1..127)"
  assert_one_error_line "restore of a tree holding '$NAME'"
}

step "the hook works: a harmless name restores as TARGET/probe"
rc=0
"$COFFRE_HOSTILE_BIN" "$REPO" probe >"$OUT" 2>"$ERR" || rc=$?
((rc == 0)) || fail "coffre_make_hostile_repo failed (exit $rc: $(head -n 2 "$ERR"))"
mkdir "$WORK/probe_target"
expect_exit 0 coffre restore --repo "$REPO" latest --target "$WORK/probe_target"
[[ $(cat "$WORK/probe_target/probe" 2>/dev/null) == pwned ]] \
  || fail "the tool's snapshot did not restore as TARGET/probe holding 'pwned': $(cd "$WORK/probe_target" && find . | head -n 5)"
rm -rf "$WORK/probe_target"

# The four names of the brief, then '.' and '../x'.
for name in '..' '../../etc/x' '/abs' 'a/b' '.' '../x'; do
  section "hostile name '$name'" hostile_case "$name"
done
