#!/usr/bin/env bash
# crash_loop_test: scripts/crash_loop.sh kills backup, forget and prune with
# -9 a few times each (a fixed seed per run of CI is printed by the script),
# and after every kill check --read-data passes and every snapshot restores
# bit for bit. The nightly form runs 100 iterations per command
# (docs/threats.md).
source "$(dirname "$0")/lib.sh"

SCRIPT=$COFFRE_SOURCE_DIR/scripts/crash_loop.sh
[[ -x $SCRIPT ]] || fail "$SCRIPT is missing or not executable"
ITERATIONS=${COFFRE_CRASH_ITERATIONS:-3}

step "the script refuses a bad argument with exit 2"
rc=0
"$SCRIPT" --command nonsense --coffre "$COFFRE_BIN" >"$OUT" 2>"$ERR" || rc=$?
((rc == 2)) || fail "expected exit 2 for --command nonsense, got $rc"
assert_stderr_has "--command must be"

step "a loop whose check cannot pass fails, naming seed and iteration"
# A coffre that exits 1 for `check`: the loop must notice and say where.
cat >"$WORK/broken-coffre" <<SH
#!/usr/bin/env bash
for a in "\$@"; do [[ \$a == check ]] && { echo "coffre: error: injected" >&2; exit 1; }; done
exec "$COFFRE_BIN" "\$@"
SH
chmod +x "$WORK/broken-coffre"
rc=0
"$SCRIPT" --iterations 1 --seed 5 --command backup --coffre "$WORK/broken-coffre" \
  --work "$WORK/broken" >"$OUT" 2>"$ERR" || rc=$?
((rc == 1)) || fail "expected exit 1 from a loop whose check fails, got $rc"
assert_stderr_has "FAIL: seed 5 iteration 1"

for cmd in backup forget prune; do
  step "$ITERATIONS kill -9 iterations of $cmd"
  rc=0
  "$SCRIPT" --iterations "$ITERATIONS" --command "$cmd" --coffre "$COFFRE_BIN" \
    --work "$WORK/$cmd" >"$OUT" 2>"$ERR" || rc=$?
  sed 's/^/    | /' "$OUT"
  ((rc == 0)) || fail "crash loop of $cmd failed (exit $rc): $(cat "$ERR")"
  grep -q "^crash loop passed" "$OUT" || fail "crash loop of $cmd did not finish: $(cat "$OUT")"
done
