#!/bin/bash
# End-to-end: the test command builds what it runs and fails when it runs
# nothing. A build folder configured with -DCOFFRE_TESTS=OFF (as
# docs/install.md does) is turned back to a test build by
# configure_for_tests, and run_ctest fails where ctest found no test (ctest
# alone prints "No tests were found!!!" and exits 0). The benchmark report
# says "target missed", never FAIL, for a target it does not meet: a missed
# target does not fail a run.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_SOURCE_DIR:?COFFRE_SOURCE_DIR must name the source tree}"
cd "$COFFRE_SOURCE_DIR"
source scripts/lib/build.sh
SCRATCH=$WORK/build-no-tests

step "a folder configured without tests: run_ctest fails instead of passing"
cmake -S . -B "$SCRATCH" -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >"$WORK/cmake.log" 2>&1 ||
  fail "configure failed: $(tail -n 5 "$WORK/cmake.log")"
rc=0
run_ctest "$SCRATCH" >"$OUT" 2>"$ERR" || rc=$?
((rc != 0)) || fail "run_ctest passed with no test: $(cat "$OUT" "$ERR")"
grep -qi "no tests" "$OUT" "$ERR" || fail "run_ctest should say no test ran: $(cat "$OUT" "$ERR")"

step "configure_for_tests turns that folder into a test build"
configure_for_tests "$SCRATCH" Release
grep -q '^COFFRE_TESTS:BOOL=ON$' "$SCRATCH/CMakeCache.txt" || fail "COFFRE_TESTS is not ON"
grep -q '^COFFRE_WERROR:BOOL=ON$' "$SCRATCH/CMakeCache.txt" || fail "COFFRE_WERROR is not ON"
[[ -f $SCRATCH/tests/CTestTestfile.cmake ]] || fail "no tests/ were generated"
# The e2e entries are registered now (the unit tests appear once built).
(cd "$SCRATCH" && ctest -N) >"$OUT"
grep -q "e2e\." "$OUT" || fail "ctest -N lists no e2e test: $(head -n 5 "$OUT")"

step "run_ctest fails when fewer tests ran than expected"
rc=0
COFFRE_MIN_TESTS=100000 run_ctest "$SCRATCH" -R '^e2e\.test_script_never_matches$' \
  >"$OUT" 2>"$ERR" || rc=$?
((rc != 0)) || fail "run_ctest passed although no test matched"

step "the benchmark report says 'target missed', not FAIL"
printf 'coffre\tbackup1\twall\t10\nrestic\tbackup1\twall\t5\n' >"$WORK/results.tsv"
printf 'command\tsynthetic\n' >"$WORK/meta.tsv"
python3 bench/report.py "$WORK/results.tsv" "$WORK/meta.tsv" >"$OUT"
grep -q "target missed" "$OUT" || fail "a missed target should read 'target missed': $(cat "$OUT")"
if grep -q "| FAIL |" "$OUT"; then fail "the report still prints FAIL for a target: $(cat "$OUT")"; fi
