#!/usr/bin/env bash
# Benchmark of coffre through a vault on loopback (TLS on) against a local
# repository, on the data set of bench/run.sh, plus many agents at once.
#
# Usage: bench/vault.sh [--size MB | --small] [--agents N] [--agent-size MB]
#                       [--coffre BIN] [--vault BIN] [--out FILE] [--work DIR]
#   --size MB        data set for the single-agent steps (default 1000)
#   --small          CI mode: 50 MB, 16 agents of 4 MB each
#   --agents N       agents uploading at once (default 16)
#   --agent-size MB  each agent's own data set (default 32)
#   --coffre/--vault the binaries (default build/cli/coffre, build/vault/coffre-vault)
#   --out FILE       Markdown report (default bench/results-vault-latest.md)
#
# Steps, each timed with /usr/bin/time, the page cache dropped before each:
#   local backup / local restore      into and from a repository folder
#   vault backup / vault restore      the same through coffre-vault serve
#   N agents                          N backups at once, each of its own data
#                                     into its own repository on the vault;
#                                     the vault's peak RSS is its VmHWM
#   s3 backup / s3 restore            through a second vault whose storage is
#                                     an S3 bucket, when COFFRE_S3_ENDPOINT and
#                                     the other lines of `scripts/rgw.sh env`
#                                     name a server (a real Ceph RGW)
# Targets (issues 3 and 11): vault backup and restore at least 80% of local
# speed; the vault below 300 MiB with 16 agents; a backup through a vault on
# S3 at least 70% of the speed of the same on local storage. Reported, never
# an exit status.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
size=1000 agents=16 agent_size=32
coffre=$root/build/cli/coffre vault=$root/build/vault/coffre-vault
out=$here/results-vault-latest.md work=
cmdline="bench/vault.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --small) size=50; agent_size=4; shift ;;
    --agents) agents=${2:?}; shift 2 ;;
    --agent-size) agent_size=${2:?}; shift 2 ;;
    --coffre) coffre=${2:?}; shift 2 ;;
    --vault) vault=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "vault.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
source "$here/common.sh"
bench_prepare vault.sh "$coffre" "$vault"
work=$(realpath -m "${work:-$here/work/vault-$size}")
rm -rf "$work" && mkdir -p "$work/logs"
failed=0
declare -A wall rss

# measure NAME cmd...: wall seconds and peak RSS of one command.
measure() {
  local name=$1
  shift
  drop_caches
  echo "== $name" >&2
  if ! /usr/bin/time -f "%e %M" -o "$work/logs/$name.time" "$@" >"$work/logs/$name.log" 2>&1; then
    echo "vault.sh: FAIL: $name (log: $work/logs/$name.log)" >&2
    tail -n 3 "$work/logs/$name.log" >&2
    failed=1
    return 1
  fi
  read -r wall[$name] rss[$name] < <(tail -n 1 "$work/logs/$name.time")
  echo "   ${wall[$name]} s, ${rss[$name]} KiB" >&2
}

echo "== data sets" >&2
"$here/make-dataset.sh" "$work/data" "$size" >/dev/null
for i in $(seq 1 "$agents"); do
  "$here/make-dataset.sh" "$work/agent$i" "$agent_size" "agent-$i" >/dev/null
done

data_vault=$work/vault
# shellcheck source=start_vault.sh
source "$here/start_vault.sh"
start_bench_vault "$vault" "$data_vault" "$work"
remote=("$coffre" --token-file "$work/token" --cacert "$work/ca.pem")

"$coffre" -r "$work/local-repo" init >/dev/null
"${remote[@]}" -r "$base/bench/one" init >/dev/null
measure local-backup "$coffre" -r "$work/local-repo" backup "$work/data"
measure vault-backup "${remote[@]}" -r "$base/bench/one" backup "$work/data"
measure local-restore "$coffre" -r "$work/local-repo" restore latest --target "$work/restore-local"
measure vault-restore "${remote[@]}" -r "$base/bench/one" restore latest --target "$work/restore-vault"
if ! diff -r --no-dereference "$work/restore-local" "$work/restore-vault" >/dev/null; then
  echo "vault.sh: FAIL: the vault restore differs from the local one" >&2
  failed=1
fi
rm -rf "$work/restore-local" "$work/restore-vault"

s3=0
if [[ -n ${COFFRE_S3_ENDPOINT:-} ]]; then
  s3=1
  echo "== a second vault on S3 ($COFFRE_S3_ENDPOINT)" >&2
  region=${COFFRE_S3_REGION:-default}
  bucket=bench-$$
  # curl signs a bucket's creation (no query, empty body) as S3 wants.
  code=$(curl -s -o "$work/logs/bucket.log" -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:$region:s3" --user "$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY" \
    -H "x-amz-content-sha256: $(sha256sum </dev/null | cut -d' ' -f1)" "$COFFRE_S3_ENDPOINT/$bucket")
  [[ $code == 200 ]] || { echo "vault.sh: cannot create bucket $bucket: $(cat "$work/logs/bucket.log")" >&2; exit 1; }
  mkdir -p "$work/s3/logs" "$work/s3-vault"
  printf 'COFFRE_S3_ACCESS_KEY=%s\nCOFFRE_S3_SECRET_KEY=%s\n' "$COFFRE_S3_ACCESS_KEY" \
    "$COFFRE_S3_SECRET_KEY" >"$work/s3-vault/s3.env"
  start_bench_vault "$vault" "$work/s3-vault" "$work/s3" "[storage]
type = \"s3\"
endpoint = \"$COFFRE_S3_ENDPOINT\"
region = \"$region\"
bucket = \"$bucket\"
credentials_file = \"s3.env\"
"
  s3_remote=("$coffre" --token-file "$work/s3/token" --cacert "$work/s3/ca.pem")
  "${s3_remote[@]}" -r "$base/bench/one" init >/dev/null
  measure s3-backup "${s3_remote[@]}" -r "$base/bench/one" backup "$work/data"
  measure s3-restore "${s3_remote[@]}" -r "$base/bench/one" restore latest --target "$work/restore-s3"
  if ! diff -r --no-dereference "$work/data" "$work/restore-s3$work/data" >/dev/null; then
    echo "vault.sh: FAIL: the restore through the S3 vault differs from the data set" >&2
    failed=1
  fi
  rm -rf "$work/restore-s3"
  kill -TERM "$vault_pid"
  wait "$vault_pid" 2>/dev/null
  # The agents' step below runs against the first vault again.
  vault_pid=${bench_vault_pids[0]}
  base=$(sed -n 's/^listening on //p' "$work/logs/serve.log")
fi

echo "== $agents agents at once" >&2
for i in $(seq 1 "$agents"); do "${remote[@]}" -r "$base/bench/agent$i" init >/dev/null; done
drop_caches
start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$agents"); do
  "${remote[@]}" -r "$base/bench/agent$i" backup "$work/agent$i" >"$work/logs/agent$i.log" 2>&1 &
  pids+=($!)
done
agents_failed=0
for p in "${pids[@]}"; do wait "$p" || agents_failed=$((agents_failed + 1)); done
agents_wall=$(printf '%.2f' "$(echo "$(date +%s.%N) - $start" | bc)")
vault_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$vault_pid/status")
((agents_failed == 0)) || { echo "vault.sh: FAIL: $agents_failed agents failed" >&2; failed=1; }
agents_mib=$(du -sm "$data_vault/repos/bench" | cut -f1)

ratio() { echo "scale=2; $1 / $2" | bc; }
# Targets are for the record: a missed one never fails the run.
verdict() { [[ $(echo "$1 >= $2" | bc) == 1 ]] && echo met || echo "target missed"; }
backup_speed=$(ratio "${wall[local-backup]:-0}" "${wall[vault-backup]:-1}")
restore_speed=$(ratio "${wall[local-restore]:-0}" "${wall[vault-restore]:-1}")
if ((s3)); then
  s3_backup_speed=$(ratio "${wall[vault-backup]:-0}" "${wall[s3-backup]:-1}")
  s3_restore_speed=$(ratio "${wall[vault-restore]:-0}" "${wall[s3-restore]:-1}")
fi
hwm_mib=$((vault_hwm / 1024))
{
  echo "# Coffre through a vault on loopback vs a local repository"
  echo
  echo "- **command**: \`$cmdline\`"
  echo "- **date**: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs; HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "- **data set**: $size MB requested ($(du -sm --apparent-size "$work/data" | cut -f1) MiB apparent, $(find "$work/data" -type f | wc -l) files); $agents agents of $agent_size MB each"
  echo "- **vault**: \`coffre-vault serve\` on 127.0.0.1 with TLS (self-signed, ECDSA P-256), local storage on the same disk"
  echo "- **page cache**: $([[ $bench_drop == 1 ]] && echo dropped before each step || echo 'not dropped (not permitted)')"
  echo
  echo "| step | wall (s) | peak RSS of coffre (MiB) |"
  echo "|---|---|---|"
  for s in local-backup vault-backup local-restore vault-restore $( ((s3)) && echo s3-backup s3-restore); do
    echo "| $s | ${wall[$s]:--} | $(( ${rss[$s]:-0} / 1024 )) |"
  done
  echo "| $agents agents backing up at once ($agents_mib MiB stored) | $agents_wall | vault peak RSS: $hwm_mib MiB |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| backup through the vault >= 80% of local speed | local/vault time = $backup_speed | $(verdict "$backup_speed" 0.8) |"
  echo "| restore through the vault >= 80% of local speed | local/vault time = $restore_speed | $(verdict "$restore_speed" 0.8) |"
  echo "| the vault below 300 MiB with $agents agents uploading | $hwm_mib MiB | $( ((hwm_mib < 300)) && echo met || echo "target missed") |"
  if ((s3)); then
    echo "| backup through a vault on S3 (Ceph RGW) >= 70% of the same vault on local storage | vault-local/vault-S3 time = $s3_backup_speed | $(verdict "$s3_backup_speed" 0.7) |"
    echo "| restore through a vault on S3, for the record | vault-local/vault-S3 time = $s3_restore_speed | - |"
  fi
} | tee "$out"
echo "vault.sh: report written to $out" >&2
kill -TERM $vault_pid
wait $vault_pid 2>/dev/null
[[ $failed == 0 ]] && rm -rf "$work"
exit $failed
