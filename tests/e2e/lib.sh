# Common helpers of the end-to-end tests; sourced by tests/e2e/*_test.sh.
#
# Environment: COFFRE_BIN (required), the coffre binary under test.
# Optional: COFFRE_E2E_TMP, a folder for the work dir (must not be tmpfs:
# the fidelity tree needs xattrs); COFFRE_E2E_KEEP=1 keeps the work dir;
# COFFRE_SANITIZER (address or thread, set by tests/CMakeLists.txt in a
# sanitizer build): see "Sanitizer builds" below.
#
# Gives: $WORK (a fresh folder, removed on exit), $E2E_DIR, step NAME,
# fail MSG, skip MSG, on_exit CMD, expect_exit [--multiline] CODE cmd...,
# coffre ARGS (the binary, detached from any terminal and under a timeout),
# with_env [-u VAR] [VAR=VAL] cmd..., section NAME FUNCTION, init_repo DIR,
# compare_trees A B [--exclude REL]..., json_eval EXPR, start_vault DATA
# [LISTEN], and $OUT / $ERR, the files holding the stdout / stderr of the
# last expect_exit.

set -euo pipefail
set -E  # the ERR trap also fires inside functions

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${COFFRE_BIN:?COFFRE_BIN must name the coffre binary under test}"
[[ -x $COFFRE_BIN ]] || { echo "FAIL: COFFRE_BIN=$COFFRE_BIN is not executable" >&2; exit 1; }
COFFRE_BIN=$(cd "$(dirname "$COFFRE_BIN")" && pwd)/$(basename "$COFFRE_BIN")
TEST_NAME=$(basename "$0" .sh)
CURRENT_STEP="setup"

# The passphrase of every repository the tests create; commands that must
# not see it unset it themselves.
export COFFRE_PASSWORD="e2e correct horse battery staple"
unset COFFRE_REPO COFFRE_PASSWORD_FILE

step() {
  CURRENT_STEP="$*"
  echo "== [$TEST_NAME] $*"
}

fail() {
  echo "FAIL [$TEST_NAME] step '$CURRENT_STEP': $*" >&2
  exit 1
}

skip() {
  echo "SKIP [$TEST_NAME]: $*"
  SKIPPED=1
  exit 0
}

_on_err() {
  echo "FAIL [$TEST_NAME] step '$CURRENT_STEP': command failed (exit $1) at ${BASH_SOURCE[1]##*/}:$2: $3" >&2
}
trap '_on_err $? $LINENO "$BASH_COMMAND"' ERR

# A folder on a file system with xattrs (not tmpfs) for the work dir.
_pick_work_base() {
  local candidate
  for candidate in "${COFFRE_E2E_TMP:-}" /var/tmp "$(dirname "$COFFRE_BIN")" "${TMPDIR:-/tmp}"; do
    [[ -n $candidate && -d $candidate && -w $candidate ]] || continue
    [[ $(stat -f -c %T "$candidate") == tmpfs ]] && continue
    echo "$candidate"
    return
  done
  echo "${TMPDIR:-/tmp}"
}

WORK=$(mktemp -d "$(_pick_work_base)/coffre-e2e-$TEST_NAME.XXXXXX")
chmod 755 "$WORK"  # tests run commands as other users below it
OUT=$WORK/last.stdout
ERR=$WORK/last.stderr
: >"$OUT"
: >"$ERR"
SKIPPED=0

# Sanitizer builds: every binary a test starts (whoever starts it, whatever
# exit code the test expects or ignores) writes its reports to
# $WORK/sanitizer/KIND.PID, not to the stderr the test reads, and the test
# fails at exit when any report is there. ASan and UBSan also stop the
# process at the first report (abort, so an exit code cannot hide it);
# TSan reports every race and exits 66. LeakSanitizer runs at each
# process's normal exit (a process killed with SIGKILL is not checked).
SANITIZER_DIR=
if [[ -n ${COFFRE_SANITIZER:-} ]]; then
  SANITIZER_DIR=$WORK/sanitizer
  mkdir -m 1777 "$SANITIZER_DIR"  # commands run as nobody write here too
  case $COFFRE_SANITIZER in
    address)
      export ASAN_OPTIONS="log_path=$SANITIZER_DIR/asan:abort_on_error=1:halt_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
      export UBSAN_OPTIONS="log_path=$SANITIZER_DIR/ubsan:halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
      ;;
    thread)
      export TSAN_OPTIONS="log_path=$SANITIZER_DIR/tsan:second_deadlock_stack=1:suppressions=$E2E_DIR/../tsan.supp:${TSAN_OPTIONS:-}"
      ;;
    *) echo "FAIL: COFFRE_SANITIZER=$COFFRE_SANITIZER: address or thread" >&2; exit 1 ;;
  esac
fi

# Prints every sanitizer report of the test's processes; fails if any.
_sanitizer_reports() {
  [[ -n $SANITIZER_DIR && -d $SANITIZER_DIR ]] || return 0
  local report found=0
  for report in "$SANITIZER_DIR"/*; do
    [[ -s $report ]] || continue
    found=1
    echo "FAIL [$TEST_NAME]: sanitizer report ${report##*/} (step '$CURRENT_STEP' or earlier):" >&2
    head -n 80 "$report" | sed 's/^/    | /' >&2
  done
  ((found == 0))
}

# section NAME FUNCTION [ARGS]: runs FUNCTION as step NAME in a subshell, so
# a failure in it (fail, or any command under set -e) is recorded and the
# next section still runs: one broken feature does not hide the others.
# The test then fails at exit, listing the failed sections.
declare -a FAILED_SECTIONS=()
section() {
  local name=$1 rc=0
  shift
  set +e
  trap - ERR  # the subshell reports its own failure
  (
    trap '_on_err $? $LINENO "$BASH_COMMAND"' ERR
    set -e
    step "$name"
    "$@"
  )
  rc=$?
  trap '_on_err $? $LINENO "$BASH_COMMAND"' ERR
  set -e
  ((rc == 0)) || FAILED_SECTIONS+=("$name")
}

# Commands to run at exit before the work dir goes (umount, kill ...).
declare -a _CLEANUPS=()
on_exit() { _CLEANUPS+=("$*"); }

_cleanup() {
  local rc=$? i
  trap - ERR
  set +e
  if ((${#FAILED_SECTIONS[@]} > 0)); then
    echo "FAIL [$TEST_NAME]: ${#FAILED_SECTIONS[@]} section(s) failed:" >&2
    printf '  - %s\n' "${FAILED_SECTIONS[@]}" >&2
    ((rc != 0)) || rc=1
  fi
  for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${_CLEANUPS[i]}"; done
  # After the cleanups: a process they stop may report at its exit.
  if ! _sanitizer_reports; then ((rc != 0)) || rc=1; fi
  if [[ ${COFFRE_E2E_KEEP:-0} == 1 ]]; then
    echo "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  if ((rc == 0 && SKIPPED == 0)); then echo "PASS [$TEST_NAME]"; fi
  exit $rc
}
trap _cleanup EXIT

# The binary under test, in a new session (no controlling terminal, so it can
# never sit at a passphrase prompt) and killed after COFFRE_TIMEOUT seconds.
coffre() {
  timeout -k 10 "${COFFRE_TIMEOUT:-600}" setsid "$COFFRE_BIN" "$@"
}

# with_env [-u VAR]... [VAR=VALUE]... cmd...: runs cmd (a function such as
# coffre, too) in a subshell with that environment.
with_env() {
  (
    while (($#)); do
      case $1 in
        -u) unset "$2"; shift 2 ;;
        *=*) export "${1?}"; shift ;;
        *) break ;;
      esac
    done
    "$@"
  )
}

# expect_exit [--multiline] CODE cmd...: runs cmd with stdout in $OUT and
# stderr in $ERR and fails unless it exits with CODE. On a failure code, the
# stderr must be exactly one line "coffre: error: ..." unless --multiline
# (partial backups and damaged restores list one entry a line).
expect_exit() {
  local multiline=0
  if [[ $1 == --multiline ]]; then multiline=1; shift; fi
  local want=$1 rc=0
  shift
  "$@" >"$OUT" 2>"$ERR" || rc=$?
  if ((rc != want)); then
    fail "expected exit $want, got $rc from: $*
--- stderr (first 20 lines):
$(head -n 20 "$ERR")
--- stdout (first 20 lines):
$(head -n 20 "$OUT")"
  fi
  if ((want != 0 && multiline == 0)); then
    assert_one_error_line "$*"
  fi
}

assert_one_error_line() {
  local lines
  lines=$(awk 'END { print NR }' "$ERR")
  if [[ $lines != 1 ]] || ! head -n 1 "$ERR" | grep -q '^coffre: error: '; then
    fail "stderr of '$1' must be exactly one line starting with 'coffre: error:', got $lines line(s):
$(head -n 20 "$ERR")"
  fi
}

# Shows the first lines of $ERR in the log (what the user would read).
show_stderr() { head -n "${1:-5}" "$ERR" | sed 's/^/    stderr| /'; }

# Asserts that $ERR contains a fixed string (case-insensitive).
assert_stderr_has() {
  grep -qiF -- "$1" "$ERR" || fail "stderr should mention '$1', got:
$(head -n 20 "$ERR")"
}

init_repo() {
  expect_exit 0 coffre init --repo "$1"
}

compare_trees() {
  python3 "$E2E_DIR/compare_trees.py" "$@" || fail "trees differ: $*"
}

# json_eval EXPR: evaluates a Python expression over `j`, the JSON document
# in $OUT, and prints its value; fails the test on a Python error.
json_eval() {
  python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list, bool)) else json.dumps(v))' "$OUT" "$1" \
    || fail "could not evaluate '$1' over the JSON output: $(head -c 2000 "$OUT")"
}

# Bytes of a folder tree (apparent sizes).
du_bytes() { du -sb "$1" | cut -f1; }

# Random incompressible data: random_file PATH MIB.
random_file() {
  head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"
}

# Pack files of a repository, one path a line, sorted.
list_packs() { find "$1/data" -type f | sort; }

# start_vault DATA [LISTEN]: starts `coffre-vault --data DATA serve` on
# LISTEN (default 127.0.0.1:0), waits for its ready line and sets VAULT_PID,
# PORT and BASE (https://127.0.0.1:PORT). The pid is also kept in
# $WORK/vault.pid, for sections (subshells) that restart the vault and the
# steps after them; the vault is killed at exit. Its log: $WORK/serve.log.
_VAULT_CLEANUP=0
start_vault() {
  : "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
  rm -f "$WORK/serve.log"  # an earlier vault's ready line must not be read as this one's
  "$COFFRE_VAULT_BIN" --data "$1" serve --listen "${2:-127.0.0.1:0}" 2>"$WORK/serve.log" &
  VAULT_PID=$!
  echo "$VAULT_PID" >"$WORK/vault.pid"
  if ((_VAULT_CLEANUP == 0)); then
    on_exit 'kill -KILL $(cat "$WORK/vault.pid") 2>/dev/null'
    _VAULT_CLEANUP=1
  fi
  local deadline=$((SECONDS + 20))
  until grep -q '^listening on https://127.0.0.1:' "$WORK/serve.log" 2>/dev/null; do
    kill -0 "$VAULT_PID" 2>/dev/null || fail "vault exited: $(cat "$WORK/serve.log")"
    ((SECONDS < deadline)) || fail "vault not ready after 20 s: $(cat "$WORK/serve.log")"
    sleep 0.05
  done
  PORT=$(sed -n 's/^listening on https:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/serve.log")
  BASE=https://127.0.0.1:$PORT
}
