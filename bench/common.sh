# Sourced by the vault benchmarks (bench/vault.sh, bench/replicate.sh,
# bench/fleet.sh): what
# each does before its first step.
#
# bench_prepare NAME BIN...: exits with "NAME: BIN is not built" unless each
#   BIN is executable; gives the agent a fixed passphrase and none of the
#   caller's repository or token; defines drop_caches, which empties the
#   page cache before a timed step (a no-op where that is not allowed).
bench_prepare() {
  local name=$1 b
  shift
  for b in "$@"; do
    [[ -x $b ]] || { echo "$name: $b is not built" >&2; exit 1; }
  done
  export COFFRE_PASSWORD=bench-password
  unset COFFRE_REPO COFFRE_TOKEN COFFRE_PASSWORD_FILE
  bench_drop=0
  if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then bench_drop=1; fi
}
drop_caches() { [[ $bench_drop == 1 ]] && sync && echo 3 >/proc/sys/vm/drop_caches; return 0; }
