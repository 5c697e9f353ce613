#!/usr/bin/env bash
# Benchmark of the memory targets of issue 11 for vault nodes on an S3
# bucket (a real Ceph RGW) with their state in PostgreSQL.
#
# Usage: bench/fleet.sh [--small] [--objects LOW,HIGH] [--agents N]
#                       [--agent-size MB] [--coffre BIN] [--vault BIN]
#                       [--out FILE] [--work DIR]
#   --small          CI mode: 10000 vs 30000 objects, 8 agents of 2 MB each
#   --objects L,H    filler objects in the bucket for the two measurements of
#                    one node (default 10000,100000)
#   --agents N       agents backing up at once through two nodes (default 32)
#   --agent-size MB  each agent's own random data (default 8)
#   --coffre/--vault the binaries (default build/cli/coffre, build/vault/coffre-vault)
#   --out FILE       Markdown report (default bench/results-fleet-latest.md)
#   --work DIR       scratch folder (default bench/work/fleet-full or -small);
#                    removed after a run in which no step failed
#
# Needs, from the environment: COFFRE_S3_ENDPOINT, COFFRE_S3_ACCESS_KEY,
# COFFRE_S3_SECRET_KEY and COFFRE_S3_REGION (what `scripts/rgw.sh env DIR`
# prints), and COFFRE_PG_CONNINFO (what `scripts/postgres.sh env DIR`
# prints). The run makes its own bucket (emptied and removed at exit) and
# its own PostgreSQL schema (dropped at exit).
#
# Steps:
#   bucket size   one node (state "files", so that at each start it counts
#                 every tenant's usage by listing the whole bucket) serves
#                 a bucket that holds LOW, then HIGH, tiny objects of another
#                 tenant (PUT straight to S3, many at once). For each, the
#                 node is started afresh, then serves one init, one small
#                 backup and its restore; its peak RSS is its VmHWM.
#   agents        two nodes on the same bucket and one PostgreSQL state,
#                 restarted, then N `coffre backup` at once, each of its own
#                 data into its own repository, half through each node;
#                 each node's VmHWM and the wall time of the whole.
# The page cache is dropped before each step when permitted.
# Targets (issue 11): a node's memory does not grow with the bucket (its
# peak at HIGH objects within 10% of its peak at LOW); each node below
# 300 MiB with the agents backing up through two nodes. Reported, never an
# exit status: the run fails only if a step fails.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
low=10000 high=100000 agents=32 agent_size=8 mode=full
coffre=$root/build/cli/coffre vault=$root/build/vault/coffre-vault
out=$here/results-fleet-latest.md work=
cmdline="bench/fleet.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --small) mode=small low=10000 high=30000 agents=8 agent_size=2; shift ;;
    --objects) IFS=, read -r low high <<<"${2:?}"; shift 2 ;;
    --agents) agents=${2:?}; shift 2 ;;
    --agent-size) agent_size=${2:?}; shift 2 ;;
    --coffre) coffre=${2:?}; shift 2 ;;
    --vault) vault=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "fleet.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $low =~ ^[0-9]+$ && $high =~ ^[0-9]+$ && $low -lt $high ]] ||
  { echo "fleet.sh: --objects wants LOW,HIGH with LOW < HIGH" >&2; exit 2; }
[[ $agents =~ ^[1-9][0-9]*$ && $agent_size =~ ^[1-9][0-9]*$ ]] ||
  { echo "fleet.sh: --agents and --agent-size want positive numbers" >&2; exit 2; }
source "$here/common.sh"
bench_prepare fleet.sh "$coffre" "$vault"
missing=()
for v in COFFRE_S3_ENDPOINT COFFRE_S3_ACCESS_KEY COFFRE_S3_SECRET_KEY COFFRE_PG_CONNINFO; do
  [[ -n ${!v:-} ]] || missing+=("$v")
done
((${#missing[@]} == 0)) || {
  echo "fleet.sh: ${missing[*]} not in the environment (set -a; source <(scripts/rgw.sh env DIR); eval \"\$(scripts/postgres.sh env DIR)\"; set +a)" >&2
  exit 1
}
for t in curl psql openssl od /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "fleet.sh: $t is needed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
region=${COFFRE_S3_REGION:-default}
work=$(realpath -m "${work:-$here/work/fleet-$mode}")
rm -rf "$work" && mkdir -p "$work/logs"
export COFFRE_CACHE_DIR=$work/cache
unset COFFRE_TOKEN_FILE COFFRE_CACERT
began=$SECONDS
now() { date +%s.%N; }
since() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }
die() { echo "fleet.sh: FAIL: $*" >&2; exit 1; }

# --- S3, signed by curl. It signs the query as written: keep it sorted and
# percent-encoded. s3 METHOD PATH [BODY_FILE]: prints the status, the body
# answered in $work/logs/s3-body.
empty_sha=$(sha256sum </dev/null | cut -d' ' -f1)
sig=(--aws-sigv4 "aws:amz:$region:s3" --user "$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY")
s3() {
  local method=$1 path=$2 body=${3:-} extra=(-H "x-amz-content-sha256: $empty_sha")
  if [[ -n $body ]]; then
    extra=(-H "x-amz-content-sha256: $(sha256sum "$body" | cut -d' ' -f1)" --data-binary "@$body"
      -H "Content-MD5: $(openssl dgst -md5 -binary "$body" | base64)" -H 'Content-Type: application/xml')
  fi
  curl -s -o "$work/logs/s3-body" -w '%{http_code}' -X "$method" "${sig[@]}" "${extra[@]}" \
    "$COFFRE_S3_ENDPOINT$path"
}
bucket=coffre-fleet-bench-$$ bucket_made=0 schema=coffre_fleet_bench_$$ schema_made=0
node_pids=()
# Removes every object, a listing page (1000 keys) at a time, then the bucket.
remove_bucket() {
  local keys
  while [[ $(s3 GET "/$bucket?list-type=2") == 200 ]]; do
    keys=$(grep -o '<Key>[^<]*</Key>' "$work/logs/s3-body")
    [[ -z $keys ]] && break
    { echo '<Delete><Quiet>true</Quiet>'
      sed 's|<Key>|<Object><Key>|; s|</Key>|</Key></Object>|' <<<"$keys"
      echo '</Delete>'; } >"$work/logs/delete.xml"
    [[ $(s3 POST "/$bucket?delete=" "$work/logs/delete.xml") == 200 ]] || break
  done
  [[ $(s3 DELETE "/$bucket") == 204 ]] ||
    echo "fleet.sh: could not remove bucket $bucket: $(head -c 300 "$work/logs/s3-body")" >&2
}
cleanup() {
  local p
  for p in "${node_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null; done
  if ((schema_made)); then
    PGOPTIONS=-cclient_min_messages=warning psql "$COFFRE_PG_CONNINFO" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" \
      >/dev/null 2>&1 || echo "fleet.sh: could not drop schema $schema" >&2
  fi
  if ((bucket_made)); then
    echo "== removing bucket $bucket" >&2
    remove_bucket
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== bucket $bucket and schema $schema" >&2
[[ $(s3 PUT "/$bucket") == 200 ]] || die "cannot create bucket $bucket: $(head -c 300 "$work/logs/s3-body")"
bucket_made=1
PGOPTIONS=-cclient_min_messages=warning psql "$COFFRE_PG_CONNINFO" -v ON_ERROR_STOP=1 -qc \
  "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >"$work/logs/schema.log" 2>&1 ||
  die "cannot make schema $schema: $(tail -n 1 "$work/logs/schema.log")"
schema_made=1
pg="$COFFRE_PG_CONNINFO options=-csearch_path=$schema"

# --- vault nodes.
# new_node NAME [PG]: a data folder $work/NAME on the bucket (prefix "fleet"),
# its state in PostgreSQL if PG (a libpq connection string) is given.
new_node() {
  local data=$work/$1 init=(init)
  [[ -n ${2:-} ]] && init+=(--postgres "$2")
  "$vault" --data "$data" "${init[@]}" >"$work/logs/init-$1.log" 2>&1 ||
    die "init $1: $(tail -n 1 "$work/logs/init-$1.log")"
  printf 'COFFRE_S3_ACCESS_KEY=%s\nCOFFRE_S3_SECRET_KEY=%s\n' \
    "$COFFRE_S3_ACCESS_KEY" "$COFFRE_S3_SECRET_KEY" >"$data/s3.env"
  chmod 600 "$data/s3.env"
  python3 - "$data/vault.toml" "[storage]
type = \"s3\"
endpoint = \"$COFFRE_S3_ENDPOINT\"
region = \"$region\"
bucket = \"$bucket\"
prefix = \"fleet\"
credentials_file = \"s3.env\"
" "$1" <<'PY' || die "cannot configure node $1"
import sys
path, table, name = sys.argv[1:]
text = open(path).read()
text = text.replace("[storage]\n", table, 1)
text = text.replace('#node_name = ""', 'node_name = "%s"' % name, 1)
open(path, "w").write(text)
PY
}
# serve NAME LOG: serves $work/NAME, waits for its ready line; sets node_pid
# and node_base. Its start (for a "files" node, the count of the whole
# bucket) may take a while: up to 10 minutes.
serve() {
  local name=$1 log=$2 deadline=$((SECONDS + 600))
  "$vault" --data "$work/$name" serve --listen 127.0.0.1:0 2>"$log" &
  node_pid=$!
  node_pids+=("$node_pid")
  until grep -q '^listening on ' "$log" 2>/dev/null; do
    kill -0 "$node_pid" 2>/dev/null || die "node $name exited: $(tail -n 3 "$log")"
    ((SECONDS < deadline)) || die "node $name not ready after 10 minutes"
    sleep 0.05
  done
  node_base=$(sed -n 's/^listening on //p' "$log")
}
stop() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  local p rest=()
  for p in "${node_pids[@]}"; do [[ $p == "$1" ]] || rest+=("$p"); done
  node_pids=("${rest[@]}")
}
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
mib() { echo $(($1 / 1024)); }
# stored_bytes CA BASE TENANT: what the node counts for TENANT (its /metrics).
stored_bytes() {
  curl -s --cacert "$1" "$2/metrics" |
    sed -n 's/^coffre_vault_tenant_stored_bytes{tenant="'"$3"'"} \([0-9]*\).*/\1/p'
}
# run NAME CMD...: one agent command, timed; its log in $work/logs/NAME.log.
declare -A wall
run() {
  local name=$1
  shift
  if ! /usr/bin/time -f "%e %M" -o "$work/logs/$name.time" "$@" >"$work/logs/$name.log" 2>&1; then
    die "$name (log: $work/logs/$name.log): $(tail -n 2 "$work/logs/$name.log")"
  fi
  read -r "wall[$name]" _ < <(tail -n 1 "$work/logs/$name.time")
}

# --- the bucket-size step.
filler_size=64 filled=0
head -c $filler_size /dev/zero | tr '\0' f >"$work/filler"
filler_sha=$(sha256sum "$work/filler" | cut -d' ' -f1)
# fill_to N: PUTs tiny objects under fleet/repos/filler/r1/data/ until the
# bucket holds N of them: curl config files of 1000 uploads each, 4 curls at
# once, each with 8 uploads in flight.
fill_to() {
  local n=$(($1 - filled)) dir=$work/fill start
  start=$(now)
  echo "== filling the bucket to $1 objects" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  head -c $((n * 32)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w 64 |
    awk -v url="$COFFRE_S3_ENDPOINT/$bucket/fleet/repos/filler/r1/data/" -v dir="$dir" -v src="$work/filler" '
      (NR - 1) % 1000 == 0 { if (f) close(f); f = sprintf("%s/%06d.cfg", dir, (NR - 1) / 1000) }
      { printf "url = \"%s%s\"\nupload-file = \"%s\"\noutput = \"/dev/null\"\n", url, $0, src > f }'
  find "$dir" -name '*.cfg' | sort |
    xargs -P 4 -I{} curl -s -Z --parallel-max 8 -w '%{http_code}\n' "${sig[@]}" \
      -H "x-amz-content-sha256: $filler_sha" -K {} >"$dir/codes" 2>"$work/logs/fill.log"
  local ok
  ok=$(grep -c '^200$' "$dir/codes")
  ((ok == n)) || die "filling the bucket: $ok of $n uploads answered 200 ($(sort "$dir/codes" | uniq -c | tr '\n' ' '))"
  filled=$1
  rm -rf "$dir"
  echo "   $n objects in $(since "$start") s" >&2
}

echo "== one node, state in files" >&2
new_node solo
"$vault" --data "$work/solo" tenant add filler >/dev/null || die "tenant add filler"
"$vault" --data "$work/solo" tenant add bench >/dev/null || die "tenant add bench"
filler_token=$("$vault" --data "$work/solo" token add --tenant filler --role admin) || die "token add"
"$vault" --data "$work/solo" token add --tenant bench --role admin >"$work/solo.token" || die "token add"
"$vault" --data "$work/solo" cert >"$work/ca.pem" || die "cert"
serve solo "$work/logs/solo-setup.log"
code=$(curl -s -o "$work/logs/repo.log" -w '%{http_code}' --cacert "$work/ca.pem" --data-binary '' \
  -H "Authorization: Bearer $filler_token" "$node_base/v1/repos/filler/r1")
[[ $code == 201 ]] || die "POST /v1/repos/filler/r1 answered $code: $(cat "$work/logs/repo.log")"
stop "$node_pid"
mkdir -p "$work/small"
head -c $((768 * 1024)) /dev/urandom >"$work/small/random.bin"
cp "$root/docs/vault.md" "$root/docs/state.md" "$work/small/"

declare -A start_s start_hwm peak counted
# measure_node N: the node started afresh on a bucket of N filler objects,
# then one init, backup and restore through it.
measure_node() {
  local n=$1 t0
  fill_to "$n"
  drop_caches
  echo "== node on $n objects" >&2
  t0=$(now)
  serve solo "$work/logs/solo-$n.log"
  start_s[$n]=$(since "$t0")
  start_hwm[$n]=$(hwm_kib "$node_pid")
  local solo=("$coffre" --token-file "$work/solo.token" --cacert "$work/ca.pem" -r "$node_base/bench/at$n")
  run "init-$n" "${solo[@]}" init
  run "backup-$n" "${solo[@]}" backup "$work/small"
  run "restore-$n" "${solo[@]}" restore latest --target "$work/restore-$n"
  diff -r "$work/small" "$work/restore-$n$work/small" >/dev/null || die "the restore at $n objects differs from its data"
  rm -rf "$work/restore-$n"
  counted[$n]=$(stored_bytes "$work/ca.pem" "$node_base" filler)
  [[ ${counted[$n]} == $((n * filler_size)) ]] ||
    die "the node counts ${counted[$n]:-nothing} bytes of filler, not $((n * filler_size)): it did not count the bucket"
  peak[$n]=$(hwm_kib "$node_pid")
  stop "$node_pid"
  echo "   ready in ${start_s[$n]} s; VmHWM $(mib "${start_hwm[$n]}") MiB after start, $(mib "${peak[$n]}") MiB after the work" >&2
}
measure_node "$low"
measure_node "$high"

# --- the agents step.
echo "== two nodes, state in PostgreSQL, $agents agents of $agent_size MB" >&2
new_node a "$pg"
new_node b "$pg"
grep -q '^type = "postgres"' "$work/a/vault.toml" || die "init --postgres did not set [state]"
# One fleet, one certificate.
cp "$work/a/tls/cert.pem" "$work/a/tls/key.pem" "$work/b/tls/"
"$vault" --data "$work/a" cert >"$work/fleet-ca.pem" || die "cert"
"$vault" --data "$work/a" tenant add bench >/dev/null || die "tenant add bench (postgres)"
"$vault" --data "$work/b" token add --tenant bench --role admin >"$work/fleet.token" || die "token add (postgres)"
for i in $(seq 1 "$agents"); do
  mkdir -p "$work/agent$i"
  for j in 1 2 3 4; do head -c $((agent_size * 1024 * 256)) /dev/urandom >"$work/agent$i/part$j.bin"; done
done
fleet=("$coffre" --token-file "$work/fleet.token" --cacert "$work/fleet-ca.pem")
serve a "$work/logs/a-setup.log"
pid_a=$node_pid base_a=$node_base
serve b "$work/logs/b-setup.log"
pid_b=$node_pid base_b=$node_base
node_of() { (($1 % 2)) && echo "$base_a" || echo "$base_b"; }
for i in $(seq 1 "$agents"); do run "agent$i-init" "${fleet[@]}" -r "$(node_of "$i")/bench/agent$i" init; done
# Restarted, so that their peaks are the backups'.
stop "$pid_a"
stop "$pid_b"
serve a "$work/logs/a.log"
pid_a=$node_pid base_a=$node_base
serve b "$work/logs/b.log"
pid_b=$node_pid base_b=$node_base
drop_caches
t0=$(now)
pids=()
for i in $(seq 1 "$agents"); do
  /usr/bin/time -f "%e %M" -o "$work/logs/agent$i.time" \
    "${fleet[@]}" -r "$(node_of "$i")/bench/agent$i" backup "$work/agent$i" >"$work/logs/agent$i.log" 2>&1 &
  pids+=($!)
done
agents_failed=0
for p in "${pids[@]}"; do wait "$p" || agents_failed=$((agents_failed + 1)); done
agents_wall=$(since "$t0")
hwm_a=$(hwm_kib "$pid_a") hwm_b=$(hwm_kib "$pid_b")
((agents_failed == 0)) || die "$agents_failed of $agents agents failed (logs: $work/logs/agent*.log)"
slowest=$(cat "$work"/logs/agent[0-9]*.time | sort -n | tail -n 1 | cut -d' ' -f1)
agent_rss=$(cat "$work"/logs/agent[0-9]*.time | cut -d' ' -f2 | sort -n | tail -n 1)
fleet_stored=$(stored_bytes "$work/fleet-ca.pem" "$base_a" bench)
[[ -n $fleet_stored && $fleet_stored == "$(stored_bytes "$work/fleet-ca.pem" "$base_b" bench)" ]] ||
  die "the two nodes do not report one usage for bench (a: ${fleet_stored:-none})"
echo "   $agents_wall s; VmHWM node a $(mib "$hwm_a") MiB, node b $(mib "$hwm_b") MiB" >&2

# --- the report. Targets are for the record: a missed one never fails the run.
lo=${peak[$low]} hi=${peak[$high]}
growth=$(printf '%.1f' "$(echo "scale=3; 100 * ($hi - $lo) / $lo" | bc)")
per_object=$(printf '%.1f' "$(echo "scale=3; ($hi - $lo) * 1024 / ($high - $low)" | bc)")
size_verdict=$( (($(echo "$growth <= 10" | bc))) && echo met || echo "target missed")
fleet_verdict=$( ((hwm_a < 300 * 1024 && hwm_b < 300 * 1024)) && echo met || echo "target missed")
{
  echo "# Vault nodes on one S3 bucket: memory against bucket size and agents"
  echo
  echo "- **command**: \`$cmdline\`"
  echo "- **date**: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs; HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "- **storage**: Ceph RGW at $COFFRE_S3_ENDPOINT, bucket \`$bucket\`, prefix \`fleet\`; vault TLS on 127.0.0.1"
  echo "- **bucket size step**: one node, state in files (it lists the whole bucket at start to count usage); filler: objects of $filler_size B of another tenant; the node's work: start, init, backup of $(du -sk --apparent-size "$work/small" | cut -f1) KiB, restore"
  echo "- **agents step**: two nodes, one bucket, state in PostgreSQL (schema \`$schema\`); $agents agents of $agent_size MB of random data each, half through each node"
  echo "- **page cache**: $([[ $bench_drop == 1 ]] && echo dropped before each step || echo 'not dropped (not permitted)')"
  echo
  echo "| step | node ready (s) | backup / restore (s) | node VmHWM after start (MiB) | node peak RSS (MiB) | filler counted (bytes) |"
  echo "|---|---|---|---|---|---|"
  for n in "$low" "$high"; do
    echo "| node on $n objects | ${start_s[$n]} | ${wall[backup-$n]} / ${wall[restore-$n]} | $(mib "${start_hwm[$n]}") | $(mib "${peak[$n]}") | ${counted[$n]} |"
  done
  echo
  echo "| step | wall (s) | slowest agent (s) | peak RSS of an agent (MiB) | node a peak RSS (MiB) | node b peak RSS (MiB) | stored (MiB) |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $agents agents backing up at once through two nodes | $agents_wall | $slowest | $(mib "$agent_rss") | $(mib "$hwm_a") | $(mib "$hwm_b") | $((fleet_stored / 1048576)) |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| a node's memory independent of the bucket's size (peak at $high objects within 10% of peak at $low) | $(mib "$lo") → $(mib "$hi") MiB ($growth%, $per_object B per extra object) | $size_verdict |"
  echo "| each node below 300 MiB with $agents agents backing up through two nodes | a: $(mib "$hwm_a") MiB, b: $(mib "$hwm_b") MiB | $fleet_verdict |"
  echo
  echo "Run took $((SECONDS - began)) s (bucket removal after it not counted)."
} | tee "$out"
echo "fleet.sh: report written to $out" >&2
rm -rf "$work/agent"[0-9]* "$work/small"
keep=$work
trap - EXIT
cleanup
rm -rf "$keep"
exit 0
