#!/usr/bin/env bash
# Coffre over a slow line: the agent and a vault in a network namespace of
# their own whose loopback is shaped with tc tbf, one profile after another,
# on the mixed data set of bench/make-dataset.sh.
#
# Usage: bench/link.sh [--size MB | --small] [--profiles LIST] [--coffre BIN]
#                      [--vault BIN] [--out FILE] [--work DIR] [--keep]
#   --size MB      data set size (default 200)
#   --small        CI mode: a 12 MB data set
#   --profiles L   ';'-separated "RATE BURST LATENCY" profiles (default: the
#                  four below)
#   --coffre/--vault the binaries (default build/cli/coffre, build/vault/coffre-vault)
#   --out FILE     Markdown report (default bench/results-link-latest.md)
#
# Profiles (tbf rate, burst, latency), as in issue 10:
#   100mbit 1mb 50ms; 20mbit 256kb 100ms; 100mbit 64kb 200ms; 10mbit 128kb 100ms
# The namespace's loopback gets an MTU of 1500, as a real line has (see
# scripts/lib/shaped_link.sh for why a 64 KiB MTU makes the small-burst
# profile fail for any TCP program).
#
# For each profile, into a repository of its own on the vault:
#   first        first backup (cache empty)
#   warm         unchanged backup right after, with the cache the first filled
#   cold         the same with an empty cache (a new machine)
#   change       backup after adding 1% of the data set as new random data
#   restore      full restore into an empty folder, checked against the data
#   one-file     restore of the largest file of the data set alone
# each with wall time and the bytes sent and received as coffre counts them
# (--json "transfer": bodies, not headers). Reference: the same unchanged
# backup against a local repository, without shaping.
#
# Targets (issue 10), reported, never an exit status: warm downloads at most
# 2 MB + 0.1% of the repository and takes at most 1.5x the local unchanged
# backup; cold downloads only metadata (at most what the warm cache holds);
# first backup and restore use at least 85% of the link's rate; change sends
# at most 1.2x the new data. Exit 1 when a step fails or a restore differs,
# 2 on a usage error, 0 with "SKIP" when this machine cannot shape a link.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=../scripts/lib/shaped_link.sh
source "$root/scripts/lib/shaped_link.sh"
size=200 keep=0
profiles="100mbit 1mb 50ms;20mbit 256kb 100ms;100mbit 64kb 200ms;10mbit 128kb 100ms"
coffre=$root/build/cli/coffre vault=$root/build/vault/coffre-vault
out=$here/results-link-latest.md work=
cmdline=${COFFRE_LINK_CMDLINE:-"bench/link.sh $*"}
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --small) size=12; shift ;;
    --profiles) profiles=${2:?}; shift 2 ;;
    --coffre) coffre=${2:?}; shift 2 ;;
    --vault) vault=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "link.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for b in "$coffre" "$vault"; do
  [[ -x $b ]] || { echo "link.sh: $b is not built" >&2; exit 1; }
done
coffre=$(realpath "$coffre") vault=$(realpath "$vault") out=$(realpath -m "$out")

if [[ -z ${COFFRE_LINK_NAMESPACE:-} ]]; then
  if ! why=$(shaping_available); then
    echo "link.sh: SKIP: $why" >&2
    exit 0
  fi
  COFFRE_LINK_NAMESPACE=1 COFFRE_LINK_CMDLINE=$cmdline exec unshare -n "$0" --size "$size" \
    --profiles "$profiles" --coffre "$coffre" --vault "$vault" --out "$out" \
    ${work:+--work "$work"} $( ((keep)) && echo --keep)
fi

work=$(realpath -m "${work:-$here/work/link-$size}")
rm -rf "$work" && mkdir -p "$work/logs"
export COFFRE_PASSWORD=bench-password
unset COFFRE_REPO COFFRE_TOKEN COFFRE_TOKEN_FILE COFFRE_CACERT COFFRE_PASSWORD_FILE COFFRE_CACHE_DIR
ip link set lo up
failed=0

echo "== data set ($size MB)" >&2
"$here/make-dataset.sh" "$work/data" "$size" >/dev/null
data_bytes=$(du -sb --apparent-size "$work/data" | cut -f1)
largest=$(find "$work/data" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
largest_bytes=$(stat -c %s "$largest")

# run NAME cmd...: runs one step; its stdout (coffre --json) goes to
# logs/NAME.json, the wall seconds to wall[NAME]. A failure is recorded.
declare -A wall
run() {
  local name=$1
  shift
  echo "== $name" >&2
  local start end
  start=$(date +%s.%N)
  if ! "$@" >"$work/logs/$name.json" 2>"$work/logs/$name.err"; then
    echo "link.sh: FAIL: $name (log: $work/logs/$name.err)" >&2
    tail -n 3 "$work/logs/$name.err" >&2
    failed=1
    return 1
  fi
  end=$(date +%s.%N)
  wall[$name]=$(printf '%.2f' "$(echo "$end - $start" | bc)")
  echo "   ${wall[$name]} s" >&2
}

# transfer NAME FIELD: a field of the step's "transfer" (0 if it failed).
transfer() {
  python3 -c 'import json,sys
try:
    print(json.load(open(sys.argv[1]))["transfer"][sys.argv[2]])
except Exception:
    print(0)' "$work/logs/$1.json" "$2"
}

echo "== local reference (no shaping)" >&2
"$coffre" -r "$work/local-repo" init >/dev/null
run local-first "$coffre" --json -r "$work/local-repo" backup "$work/data"
run local-unchanged "$coffre" --json -r "$work/local-repo" backup "$work/data"

vdata=$work/vault
# shellcheck source=start_vault.sh
source "$here/start_vault.sh"
start_bench_vault "$vault" "$vdata" "$work"
remote=("$coffre" --json --token-file "$work/token" --cacert "$work/ca.pem")

ratio() { echo "scale=2; $1 / $2" | bc; }
mb() { printf "%.3f" "$(echo "scale=6; $1 / 1000000" | bc)"; }
verdict() { [[ $(echo "$1" | bc) == 1 ]] && echo met || echo "target missed"; }
rows=() targets=()
n=0
IFS=';' read -ra profile_list <<<"$profiles"
for profile in "${profile_list[@]}"; do
  read -r rate burst latency <<<"$profile"
  n=$((n + 1))
  p="p$n"
  echo "== profile $n: $rate, burst $burst, latency $latency" >&2
  shape_loopback "$rate" "$burst" "$latency"
  bits=$(rate_bits "$rate")
  repo=$base/bench/link$n
  cache=$work/cache-$n
  "${remote[@]}" --cache-dir "$cache" -r "$repo" init >/dev/null
  run "$p-first" "${remote[@]}" --cache-dir "$cache" -r "$repo" backup "$work/data"
  run "$p-warm" "${remote[@]}" --cache-dir "$cache" -r "$repo" backup "$work/data"
  run "$p-cold" "${remote[@]}" --cache-dir "$work/cold-$n" -r "$repo" backup "$work/data"
  change_bytes=$((data_bytes / 100))
  head -c "$change_bytes" /dev/urandom >"$work/data/change-$n.bin"
  run "$p-change" "${remote[@]}" --cache-dir "$cache" -r "$repo" backup "$work/data"
  run "$p-restore" "${remote[@]}" --cache-dir "$cache" -r "$repo" restore latest \
    --target "$work/restore-$n"
  if [[ -d $work/restore-$n$work/data ]] &&
    ! diff -r --no-dereference "$work/data" "$work/restore-$n$work/data" >/dev/null; then
    echo "link.sh: FAIL: the restore of profile $n differs from the data" >&2
    failed=1
  fi
  rm -rf "$work/restore-$n"
  run "$p-one" "${remote[@]}" --cache-dir "$cache" -r "$repo" restore latest "$largest" \
    --target "$work/one-$n"
  cmp -s "$largest" "$work/one-$n$largest" || { echo "link.sh: FAIL: one-file restore differs" >&2; failed=1; }
  rm -rf "$work/one-$n" "$work/data/change-$n.bin"
  tc qdisc del dev lo root 2>/dev/null

  repo_bytes=$(du -sb "$vdata/repos/bench/link$n" | cut -f1)
  cache_bytes=$(du -sb "$cache" | cut -f1)
  for s in first warm cold change restore one; do
    rows+=("| $rate / $burst / $latency | $s | ${wall[$p-$s]:-FAIL} | $(mb "$(transfer "$p-$s" sent_bytes)") | $(mb "$(transfer "$p-$s" received_bytes)") | $(transfer "$p-$s" requests) |")
  done
  warm_rx=$(transfer "$p-warm" received_bytes)
  cold_rx=$(transfer "$p-cold" received_bytes)
  warm_bound=$((2000000 + repo_bytes / 1000))
  first_use=$(echo "scale=2; $(transfer "$p-first" sent_bytes) * 8 / ${wall[$p-first]:-1} / $bits" | bc)
  restore_use=$(echo "scale=2; $(transfer "$p-restore" received_bytes) * 8 / ${wall[$p-restore]:-1} / $bits" | bc)
  change_sent=$(transfer "$p-change" sent_bytes)
  warm_vs_local=$(ratio "${wall[$p-warm]:-999}" "${wall[local-unchanged]:-1}")
  targets+=("| $rate / $burst / $latency | warm unchanged downloads <= 2 MB + 0.1% of the repository ($(mb $warm_bound) MB) | $(mb "$warm_rx") MB | $(verdict "$warm_rx <= $warm_bound") |")
  targets+=("| | warm unchanged within 1.5x the local unchanged backup | ${warm_vs_local}x | $(verdict "$warm_vs_local <= 1.5") |")
  targets+=("| | cold unchanged downloads only metadata (<= the warm cache, $(mb "$cache_bytes") MB) | $(mb "$cold_rx") MB, $(echo "scale=1; 100 * $cold_rx / $repo_bytes" | bc)% of the repository | $(verdict "$cold_rx <= $cache_bytes * 11 / 10 + 262144") |")
  targets+=("| | first backup uses >= 85% of the link | $(echo "$first_use * 100" | bc | cut -d. -f1)% | $(verdict "$first_use >= 0.85") |")
  targets+=("| | full restore uses >= 85% of the link | $(echo "$restore_use * 100" | bc | cut -d. -f1)% | $(verdict "$restore_use >= 0.85") |")
  targets+=("| | a 1% change sends <= 1.2x the new data ($(mb $change_bytes) MB) | $(mb "$change_sent") MB | $(verdict "$change_sent <= $change_bytes * 12 / 10") |")
  targets+=("| | one-file restore downloads about the file ($(mb "$largest_bytes") MB) | $(mb "$(transfer "$p-one" received_bytes)") MB | - |")
done

{
  echo "# Coffre over a shaped link (tc tbf in a network namespace)"
  echo
  echo "- **command**: \`$cmdline\`"
  echo "- **date**: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs; HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "- **data set**: $size MB requested ($((data_bytes / 1048576)) MiB apparent, $(find "$work/data" -type f | wc -l) files); the largest file, for the one-file restore: $(mb "$largest_bytes") MB"
  echo "- **link**: the namespace's loopback, MTU 1500, shaped both ways at once (one interface carries both directions); the vault with TLS on local storage"
  echo "- **local reference** (no link): first backup ${wall[local-first]:--} s, unchanged backup ${wall[local-unchanged]:--} s"
  echo
  echo "| link (rate / burst / latency) | step | wall (s) | sent (MB) | received (MB) | requests |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "| link | target | measured | verdict |"
  echo "|---|---|---|---|"
  printf '%s\n' "${targets[@]}"
} | tee "$out"
echo "link.sh: report written to $out" >&2
kill -TERM $vault_pid
wait $vault_pid 2>/dev/null
((keep || failed)) || rm -rf "$work"
exit $failed
