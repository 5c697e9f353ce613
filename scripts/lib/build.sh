# Build helpers of scripts/test.sh, sourced (also by tests/e2e/test_script_test.sh).
#
# configure_for_tests DIR TYPE [CMAKE ARGS...]: configures DIR to build every
#   test, whatever DIR was configured with before (docs/install.md builds
#   with -DCOFFRE_TESTS=OFF), with -Werror, and with ccache when installed.
# run_ctest DIR [CTEST ARGS...]: runs ctest in DIR and fails when no test
#   ran, or fewer than COFFRE_MIN_TESTS (default 1).

configure_for_tests() {
  local dir=$1 type=$2
  shift 2
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DCOFFRE_TESTS=ON -DCOFFRE_WERROR=ON \
    "${launcher[@]}" "$@" >/dev/null
  local tests
  tests=$(sed -n 's/^COFFRE_TESTS:BOOL=//p' "$dir/CMakeCache.txt")
  if [[ $tests != ON ]]; then
    echo "configure_for_tests: $dir still has COFFRE_TESTS=$tests" >&2
    return 1
  fi
}

run_ctest() {
  local dir=$1
  shift
  local log count rc
  log=$(mktemp)
  (cd "$dir" && ctest --no-tests=error "$@") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count=$(sed -n 's/^.*tests passed, [0-9]* tests failed out of \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  rm -f "$log"
  ((rc == 0)) || return "$rc"
  if [[ -z $count ]] || ((count < ${COFFRE_MIN_TESTS:-1})); then
    echo "run_ctest: ${count:-no} tests ran in $dir; expected at least ${COFFRE_MIN_TESTS:-1}" >&2
    return 1
  fi
  echo "run_ctest: $count tests ran and passed in $dir"
}
