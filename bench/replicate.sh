#!/usr/bin/env bash
# Benchmark of `coffre-vault replicate` between two vaults on loopback (TLS
# on, each on its own folder of this disk), against the machine's floor:
# `cp -a` of the same repository folder.
#
# Usage: bench/replicate.sh [--size MB | --small] [--coffre BIN] [--vault BIN]
#                           [--out FILE] [--work DIR]
#   --size MB        data backed up to the primary, then replicated (default 1000)
#   --small          CI mode: 50 MB
#   --coffre/--vault the binaries (default build/cli/coffre, build/vault/coffre-vault)
#   --out FILE       Markdown report (default bench/results-replicate-latest.md)
#
# Steps, the page cache dropped before each timed one:
#   first pass     everything sent; MB/s of bytes sent, the job's peak RSS
#   second pass    nothing new: how long a pass costs that sends nothing
#   cp -a          the primary's repository folder copied on the same disk
# Target (issue 11): replication at least 100 MB/s. Reported, never an exit
# status; the run fails only if a step fails or the replica does not check.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
size=1000
coffre=$root/build/cli/coffre vault=$root/build/vault/coffre-vault
out=$here/results-replicate-latest.md work=
cmdline="bench/replicate.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --small) size=50; shift ;;
    --coffre) coffre=${2:?}; shift 2 ;;
    --vault) vault=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "replicate.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
source "$here/common.sh"
bench_prepare replicate.sh "$coffre" "$vault"
work=$(realpath -m "${work:-$here/work/replicate-$size}")
rm -rf "$work" && mkdir -p "$work/p/logs" "$work/r/logs" "$work/src"
die() { echo "replicate.sh: $*" >&2; exit 1; }
# timed NAME CMD...: runs CMD under /usr/bin/time; sets secs and rss_kb.
timed() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
    die "$name failed: $(tail -n 3 "$work/$name.err")"
  read -r secs rss_kb <"$work/$name.time"
}
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6 / max(float(sys.argv[2]), 0.01):.0f}')" "$1" "$2"; }

source "$here/start_vault.sh"
start_bench_vault "$vault" "$work/p/data" "$work/p"
primary=$base
start_bench_vault "$vault" "$work/r/data" "$work/r"
replica=$base

echo "replicate.sh: $size MB to the primary"
python3 - "$work/src" "$size" <<'PY'
import os, sys
root, size = sys.argv[1], int(sys.argv[2])
# Incompressible files of 8 MiB: what the replica receives is what was stored.
left, n = size * 1_000_000, 0
while left > 0:
    chunk = min(left, 8 << 20)
    with open(os.path.join(root, f"f{n:05}.bin"), "wb") as f:
        f.write(os.urandom(chunk))
    left -= chunk
    n += 1
PY
p_args=(--token-file "$work/p/token" --cacert "$work/p/ca.pem" --repo "$primary/bench/main")
"$coffre" "${p_args[@]}" init >/dev/null 2>&1 || die "init failed"
"$coffre" "${p_args[@]}" backup "$work/src" >/dev/null 2>"$work/backup.err" || die "backup failed: $(cat "$work/backup.err")"
stored=$(du -sb "$work/p/data/repos/bench/main" | cut -f1)

rep=("$vault" --data "$work/p/data" replicate --tenant bench --to "$replica"
     --token-file "$work/r/token" --cacert "$work/r/ca.pem")
drop_caches
timed first "${rep[@]}"
first_s=$secs first_rss=$rss_kb
sent=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes_sent'])" \
  "$work"/p/data/replication/bench@*.json) || die "no replication status"
drop_caches
timed second "${rep[@]}"
second_s=$secs
grep -q ": 0 object(s)" "$work/second.err" || die "the second pass sent something: $(cat "$work/second.err")"
drop_caches
timed cp cp -a "$work/p/data/repos/bench/main" "$work/cp-copy"
cp_s=$secs
"$coffre" --token-file "$work/r/token" --cacert "$work/r/ca.pem" --repo "$replica/bench/main" \
  check --read-data >/dev/null 2>"$work/check.err" || die "the replica does not check: $(cat "$work/check.err")"

rate=$(mbps "$sent" "$first_s")
cp_rate=$(mbps "$stored" "$cp_s")
verdict="met"
((rate >= 100)) || verdict="target missed"
{
  echo "# Replication benchmark ($(date -u +%Y-%m-%d), $(nproc) cores)"
  echo
  echo "- command: \`$cmdline\`"
  echo "- data: $size MB of random files backed up to the primary ($stored bytes stored)"
  echo
  echo "| step | seconds | MB/s | peak RSS |"
  echo "|---|---|---|---|"
  echo "| replicate, first pass ($sent bytes sent) | $first_s | $rate | $((first_rss / 1024)) MiB |"
  echo "| replicate, second pass (nothing new) | $second_s | - | - |"
  echo "| cp -a of the repository folder (floor) | $cp_s | $cp_rate | - |"
  echo
  echo "Replication: **$rate MB/s** (target 100 MB/s: $verdict), $(python3 -c "print(f'{$rate / max($cp_rate, 1):.2f}')")x the disk's own copy."
} >"$out"
cat "$out"
