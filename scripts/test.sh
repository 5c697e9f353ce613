#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit, conformance and
# end-to-end tests on a normal build; under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan/) the unit and conformance tests
# and the end-to-end tests labelled e2e-asan, against the sanitized
# binaries; a short run of every fuzz target (clang,
# libFuzzer); and the benchmark at its small CI size. A sanitizer report
# fails its test, even from a command whose exit code the test ignores
# (tests/e2e/lib.sh). It always builds what it runs: build/ is configured
# with the tests on whatever it held before, and a run in which no test ran
# fails. docs/testing.md says what each stage costs.
# The ThreadSanitizer stage (build-tsan/: the tests labelled tsan, unit
# cases tagged [tsan], backups racing prune, agents at once through vaults)
# is not in the default run: its cold build alone would take CI past its
# 30 minutes. It runs with --only tsan (nightly, or before a change to
# threaded code).
#
# Usage: scripts/test.sh [--no-sanitize | --only asan | --only asan-all | --only tsan]
#   --no-sanitize     without the ASan + UBSan stage
#   --only asan       the ASan + UBSan stage alone, as CI runs it
#   --only asan-all   the nightly one: every end-to-end test under ASan + UBSan
#   --only tsan       the ThreadSanitizer stage
# Each --only stage still starts the S3 server and PostgreSQL its tests use,
# and skips the normal build, the fuzz targets and the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib/build.sh
jobs=$(nproc)

normal=1 asan=1 asan_label=e2e-asan tsan=0
case "${1:-}" in
  "") ;;
  --no-sanitize) asan=0 ;;
  --only)
    normal=0 asan=0 tsan=0
    case "${2:-}" in
      asan) asan=1 ;;
      asan-all) asan=1 asan_label=e2e ;;
      tsan) tsan=1 ;;
      *) echo "test.sh: --only asan, asan-all or tsan" >&2; exit 2 ;;
    esac
    ;;
  *) echo "test.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
esac

# restic and borg too: the small benchmark below runs against them; Ceph,
# whose RADOS Gateway (scripts/rgw.sh) is the real S3 server the tests use;
# and PostgreSQL, the fleet's shared state (scripts/postgres.sh).
COFFRE_BENCH_DEPS=1 COFFRE_S3_DEPS=1 scripts/install-deps.sh

if ((normal)); then
  echo "== build (RelWithDebInfo, tests on, -Werror)"
  configure_for_tests build RelWithDebInfo
  cmake --build build -j"$jobs"
fi

echo "== a real S3 server for the S3 storage's tests (scripts/rgw.sh, memstore)"
source scripts/lib/free_ports.sh
mkdir -p build
rgw_dir="$root/build/rgw"
scripts/rgw.sh stop "$rgw_dir" >/dev/null 2>&1 || true
rm -rf "$rgw_dir"
read -r s3_port mon_port < <(free_ports 2)
scripts/rgw.sh start "$rgw_dir" --port "$s3_port" --mon-port "$mon_port" --memstore
trap 'scripts/rgw.sh stop "$rgw_dir" >/dev/null 2>&1' EXIT
set -a
source <(scripts/rgw.sh env "$rgw_dir")
set +a
# The conformance suite fails rather than skip S3 when it has no server.
export COFFRE_REQUIRE_S3=1

echo "== a real PostgreSQL for the shared state's tests (scripts/postgres.sh)"
pg_dir="$root/build/postgres"
scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
rm -rf "$pg_dir"
read -r pg_port < <(free_ports 1)
scripts/postgres.sh start "$pg_dir" --port "$pg_port"
trap 'scripts/rgw.sh stop "$rgw_dir" >/dev/null 2>&1; scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1' EXIT
eval "$(scripts/postgres.sh env "$pg_dir")"
# The fleet's tests fail rather than skip when there is no database.
export COFFRE_PG_CONNINFO COFFRE_REQUIRE_PG=1

# E2E tests create files under this folder: it must not be tmpfs, whose
# xattr support is partial.
export COFFRE_E2E_TMP="$root/build/e2e-tmp"
mkdir -p "$COFFRE_E2E_TMP"
# What the sanitizer stages' tests run: the three binaries, the unit tests
# and the e2e tests' helper (not the fuzz replays, nor what only the
# packaging test installs).
sanitized_targets=(coffre coffre-vault coffre-agent coffre_unit_tests coffre_make_hostile_repo)

if ((normal)); then
  echo "== tests: unit, conformance, end-to-end"
  # Fewer than this many tests means a part of the suite went missing.
  COFFRE_MIN_TESTS=300 run_ctest build --output-on-failure -j"$jobs" --timeout 900
fi

if ((asan)); then
  echo "== unit and conformance tests under ASan + UBSan"
  configure_for_tests build-asan Debug -DCOFFRE_SANITIZE=ON
  cmake --build build-asan -j"$jobs" --target "${sanitized_targets[@]}"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    build-asan/tests/coffre_unit_tests --reporter compact
  echo "== end-to-end tests (label $asan_label) under ASan + UBSan, on the sanitized binaries"
  COFFRE_MIN_TESTS=20 run_ctest build-asan -L "^$asan_label\$" --output-on-failure \
    -j"$jobs" --timeout 900
fi

if ((tsan)); then
  echo "== concurrent tests (label tsan) under ThreadSanitizer"
  # -O2: TSan at -O0 runs the e2e tests' backups many times slower.
  configure_for_tests build-tsan RelWithDebInfo -DCOFFRE_SANITIZE=thread
  cmake --build build-tsan -j"$jobs" --target "${sanitized_targets[@]}"
  COFFRE_MIN_TESTS=20 run_ctest build-tsan -L '^tsan$' --output-on-failure -j"$jobs" \
    --timeout 900
fi

((normal)) || exit 0
echo "== fuzz targets, a short run each (scripts/fuzz.sh, docs/fuzzing.md)"
# The ordinary build above already replayed every committed corpus (ctest
# label fuzz); this looks for new inputs. 2 min 43 s measured on 2 cores,
# with a cold clang build and no ccache (8 s a target); long runs are for
# scripts/fuzz.sh alone.
COFFRE_FUZZ_DEPS=1 scripts/install-deps.sh
scripts/fuzz.sh --seconds "${COFFRE_FUZZ_SECONDS:-8}"
echo "== benchmark at CI size (50 MB) against restic and borg"
# It measures, for the record: a 'target missed' row never fails the run
# (targets are set at full size, bench/RESULTS.md). It fails only if a tool
# fails or a restore is not exact.
bench/run.sh --small --coffre build/cli/coffre --out build/bench-small.md
echo "== vault benchmark at CI size (50 MB, 16 agents of 4 MB)"
bench/vault.sh --small --coffre build/cli/coffre --vault build/vault/coffre-vault \
  --out build/bench-vault-small.md
echo "== link benchmark at CI size (12 MB over four shaped links)"
bench/link.sh --small --coffre build/cli/coffre --vault build/vault/coffre-vault \
  --out build/bench-link-small.md
echo "== replication benchmark at CI size (50 MB between two vaults)"
bench/replicate.sh --small --coffre build/cli/coffre --vault build/vault/coffre-vault \
  --out build/bench-replicate-small.md
echo "== fleet benchmark at CI size (a node on 10k and 30k objects; 8 agents through two nodes)"
bench/fleet.sh --small --coffre build/cli/coffre --vault build/vault/coffre-vault \
  --out build/bench-fleet-small.md
echo "== all tests passed; benchmark reports (ratios, not verdicts) in build/bench-small.md, build/bench-vault-small.md, build/bench-link-small.md, build/bench-replicate-small.md and build/bench-fleet-small.md"
