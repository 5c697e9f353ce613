#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz/) and
# runs each for a while on its corpus (docs/fuzzing.md).
#
# Usage: scripts/fuzz.sh [--seconds N] [--no-build] [TARGET...]
#   --seconds N   time per target (default 15)
#   --no-build    run what build-fuzz/ holds
#   TARGET        pack, tree, ... (default: every target)
# e.g. the longer run of one target: scripts/fuzz.sh --seconds 3600 tree
#
# Each target starts from tests/fuzz/corpus/TARGET (left untouched) and
# keeps what it discovers in build-fuzz/corpus/TARGET, reused by the next
# run. A crash, a hang (10 s on one input), an out-of-memory (2 GiB) or a
# leak stops that target; its input is saved in build-fuzz/crashes/TARGET/,
# the others still run, and the script exits 1 naming every saved input.
# Needs clang 14 and its libFuzzer: COFFRE_FUZZ_DEPS=1 scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=15
build=1
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: --seconds wants a positive number of seconds, not '$seconds'" >&2
  exit 2
fi

all=(pack pack_header index tree snapshot config key_slot lock prune_plan agent_config calendar)
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  if [[ ! -d tests/fuzz/corpus/$t ]]; then
    echo "fuzz.sh: no target '$t' (known: ${all[*]})" >&2
    exit 2
  fi
done

dir=build-fuzz
if ((build)); then
  cxx=${COFFRE_FUZZ_CXX:-clang++-14}
  if ! command -v "$cxx" >/dev/null; then
    echo "fuzz.sh: $cxx not found; install it with COFFRE_FUZZ_DEPS=1 scripts/install-deps.sh" >&2
    exit 2
  fi
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  echo "== build $dir ($cxx, -fsanitize=fuzzer,address,undefined)"
  cmake -S . -B "$dir" -DCOFFRE_FUZZ=ON -DCOFFRE_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target "${targets[@]/%/_fuzz}"
fi

# Leaks are findings; UBSan already aborts (built -fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for t in "${targets[@]}"; do
  work=$dir/corpus/$t
  crashes=$dir/crashes/$t
  mkdir -p "$work" "$crashes"
  log=$dir/fuzz-$t.log
  echo "== $t: $seconds s"
  rc=0
  "$dir/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$root/$crashes/" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if ((rc != 0)); then
    tail -n 40 "$log"
    saved=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "== $t FAILED (exit $rc); input: ${saved:-none saved}, log: $log"
    failed+=("$t: ${saved:-$log}")
  else
    summary+=("$t: ${execs:-?} execs in $seconds s, corpus $(find "$work" -type f | wc -l) inputs")
  fi
done

echo "== summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "== failures (keep each input as tests/fuzz/corpus/TARGET/crash-WHAT: docs/fuzzing.md)"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
