#!/usr/bin/env bash
# Benchmark of coffre against restic and BorgBackup, on one data set, in one run.
#
# Usage: bench/run.sh [--size MB | --small] [--out FILE] [options]
#   --size MB      size of the generated data set (default 1000)
#   --small        a 50 MB data set: the CI mode, well under 2 minutes
#   --out FILE     where to write the Markdown report (default bench/results-latest.md)
#   --coffre BIN   the coffre binary (default: $COFFRE_BIN, build/cli/coffre, coffre on PATH)
#   --tools LIST   space-separated subset of "coffre restic borg" (default: all three)
#   --work DIR     scratch folder (default bench/work/run-<size>; wiped first, removed after)
#   --seed S       data set seed (default coffre-bench-1)
#   --keep         keep the data set, repositories and logs in the work folder
#
# For every tool, on the same data set: init an encrypted repository, then
#   backup1  first backup
#   backup2  second backup, nothing changed
#   backup2w the same again with the page cache warm: each tool backs up once
#            unmeasured, then the measured run follows without dropping caches
#            (a backup run soon after another, or on a busy server)
#   backup2a, backup2aw  coffre only: unchanged backups run by the coffre-agent
#            daemon (next to the coffre binary), page cache cold then warm;
#            the daemon keeps the unlocked keys between runs (bench/agent_runs.py)
#   backup3  backup after a small change (1% of the files appended to, a db block rewritten)
#   restore  full restore of backup3 into an empty folder, then verified against the data
# Each step runs for all tools before the next step, so they all see the same data.
# Before every measured command the page cache is dropped when permitted; if it
# is not, the data set is read once first so that every tool starts warm.
# Measured with /usr/bin/time: wall, user+sys CPU, peak RSS; repository size with du -sb.
#
# Exit status: 0 when every tool succeeded and every restore is exact; 1 when a
# tool failed or a restore differs; 2 on a usage error. Missing the project's
# targets is reported in the output, never an error.
#
# Settings: coffre defaults (zstd 3); restic init --repository-version 2 with the
# default compression (auto); borg init -e repokey-blake2, create --compression
# zstd,3. Restore: borg extract --sparse (coffre restores holes by design);
# restic 0.14 has no sparse restore option.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
size=1000
out=$here/results-latest.md
coffre=${COFFRE_BIN:-}
tools="coffre restic borg"
work=
seed=coffre-bench-1
keep=0
cmdline="bench/run.sh $*"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --small) size=50; shift ;;
    --out) out=${2:?}; shift 2 ;;
    --coffre) coffre=${2:?}; shift 2 ;;
    --tools) tools=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
  esac
done
[[ $size =~ ^[0-9]+$ && $size -ge 10 ]] || { echo "run.sh: --size must be >= 10 (MB)" >&2; exit 2; }
work=$(realpath -m "${work:-$here/work/run-$size}")
py=/usr/bin/python3
[[ -x $py ]] || py=python3

if [[ -z $coffre ]]; then
  for c in "$root/build/cli/coffre" "$(command -v coffre || true)"; do
    [[ -n $c && -x $c ]] && { coffre=$c; break; }
  done
fi
need=(/usr/bin/time)
for t in $tools; do
  case $t in
    coffre) [[ -n $coffre && -x $coffre ]] || { echo "run.sh: no coffre binary (use --coffre)" >&2; exit 1; } ;;
    restic|borg) need+=("$t") ;;
    *) echo "run.sh: unknown tool $t" >&2; exit 2 ;;
  esac
done
for c in "${need[@]}"; do
  command -v "$c" >/dev/null || { echo "run.sh: $c is not installed" >&2; exit 1; }
done

# ---------------------------------------------------------------- set-up
rm -rf "$work"
mkdir -p "$work/logs"
data=$work/data
tsv=$work/results.tsv
meta=$work/meta.tsv
: >"$tsv"
: >"$meta"
: >"$work/loadavg"
declare -A failed=()
record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$tsv"; }
note() { printf '%s\t%s\n' "$1" "$2" >>"$meta"; }
fail() {  # tool, message
  echo "run.sh: FAIL: $1: $2" >&2
  failed[$1]="${failed[$1]:+${failed[$1]}; }$2"
}

export COFFRE_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
export BORG_BASE_DIR=$work/borg-base RESTIC_CACHE_DIR=$work/restic-cache
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no
unset COFFRE_REPO COFFRE_PASSWORD_FILE RESTIC_REPOSITORY RESTIC_PASSWORD_FILE BORG_REPO

if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  cache_mode="page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every measured command"
  drop=1
else
  cache_mode="page cache NOT dropped (not permitted): the data set was read once before the first measurement, so every tool ran warm"
  drop=0
fi
drop_caches() { [[ $drop == 1 ]] && sync && echo 3 >/proc/sys/vm/drop_caches; return 0; }

echo "== data set: $size MB in $data (seed $seed)" >&2
t0=$(date +%s.%N)
if ! "$here/make-dataset.sh" "$data" "$size" "$seed"; then
  echo "run.sh: could not build the data set" >&2
  exit 1
fi
gen_s=$(echo "$(date +%s.%N) - $t0" | bc)
[[ $drop == 0 ]] && tar -cf - -C "$data" . | cat >/dev/null

# Runs one measured command: tool step command... ; records wall/cpu/rss.
# The page cache is dropped first unless warm=1.
warm=0
measure() {
  local tool=$1 step=$2
  shift 2
  local tf=$work/logs/$tool-$step.time log=$work/logs/$tool-$step.log
  [[ $warm == 1 ]] || drop_caches
  cut -d' ' -f1 /proc/loadavg >>"$work/loadavg"
  echo "== $tool $step" >&2
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" >"$log" 2>&1
  local rc=$?
  if [[ $rc != 0 ]]; then
    fail "$tool" "$step exited with status $rc (log: $log)"
    tail -n 5 "$log" | sed 's/^/    /' >&2
    return 1
  fi
  local e u s m
  read -r e u s m < <(tail -n 1 "$tf")
  record "$tool" "$step" wall "$e"
  record "$tool" "$step" cpu "$(echo "$u + $s" | bc)"
  record "$tool" "$step" rss "$m"
  echo "   wall ${e}s  cpu $(echo "$u + $s" | bc)s  rss $((m / 1024)) MiB" >&2
}

repo() { echo "$work/repo-$1"; }

run_init() {
  local r
  r=$(repo "$1")
  case $1 in
    coffre) "$coffre" -r "$r" init ;;
    restic) restic -r "$r" init --repository-version 2 ;;
    borg) borg init -e repokey-blake2 "$r" ;;
  esac >"$work/logs/$1-init.log" 2>&1 || { fail "$1" "init failed (log: $work/logs/$1-init.log)"; return 1; }
}

backup_command() {  # tool step: sets cmd to the tool's backup command
  local r
  r=$(repo "$1")
  case $1 in
    coffre) cmd=("$coffre" -r "$r" backup --json "$data") ;;
    restic) cmd=(restic -r "$r" backup "$data") ;;
    borg) cmd=(borg create --compression zstd,3 "$r::$2" "$data") ;;
  esac
}

run_backup() {  # tool step
  local cmd
  backup_command "$1" "$2"
  measure "$1" "$2" "${cmd[@]}" || return 1
  record "$1" "$2" repo "$(du -sb "$(repo "$1")" | cut -f1)"
}

warm_up() {  # tool step: the same backup, not measured
  local cmd log=$work/logs/$1-$2.log
  backup_command "$1" "$2"
  "${cmd[@]}" >"$log" 2>&1 || { fail "$1" "$2 failed (log: $log)"; return 1; }
}

run_restore() {  # tool
  local r target=$work/restore-$1
  r=$(repo "$1")
  rm -rf "$target"
  mkdir -p "$target"
  case $1 in
    coffre) measure coffre restore "$coffre" -r "$r" restore latest --target "$target" ;;
    restic) measure restic restore restic -r "$r" restore latest --target "$target" ;;
    borg) measure borg restore env -C "$target" borg extract --sparse "$r::backup3" ;;
  esac || return 1
  # coffre and restic put /a/b at TARGET/a/b; borg extracts a/b below the cwd.
  local got=$target$data
  if [[ ! -d $got ]]; then
    fail "$1" "restore produced no $got"
    return 1
  fi
  "$py" "$here/dataset.py" manifest "$got" >"$work/logs/$1-restore.manifest"
  if ! diff "$work/source.manifest" "$work/logs/$1-restore.manifest" >"$work/logs/$1-restore.diff"; then
    fail "$1" "RESTORE DIFFERS from the data set ($(grep -c '^[<>]' "$work/logs/$1-restore.diff") lines; see $work/logs/$1-restore.diff)"
    head -n 10 "$work/logs/$1-restore.diff" | sed 's/^/    /' >&2
  else
    echo "   restore verified: identical content, modes, mtimes, links" >&2
  fi
  local img=$got/vm/disk.img
  if [[ -f $img ]]; then
    record "$1" restore "info:allocated MiB of the restored sparse VM image (source: $(($(du -s -B1 "$data/vm/disk.img" | cut -f1) >> 20)))" \
      "$(($(du -s -B1 "$img" | cut -f1) >> 20))"
  fi
  [[ $keep == 1 ]] || rm -rf "$target"
}

run_check() {  # tool: integrity check of the repository, not measured
  local r
  r=$(repo "$1")
  case $1 in
    coffre) "$coffre" -r "$r" check ;;
    restic) restic -r "$r" check ;;
    borg) borg check "$r" ;;
  esac >"$work/logs/$1-check.log" 2>&1 || fail "$1" "repository check failed (log: $work/logs/$1-check.log)"
}

alive() { [[ -z ${failed[$1]:-} ]]; }

# ---------------------------------------------------------------- the run
for t in $tools; do run_init "$t"; done
for t in $tools; do alive "$t" && run_backup "$t" backup1; done
for t in $tools; do alive "$t" && run_backup "$t" backup2; done
# The floor of any cold unchanged backup: reading every inode once.
drop_caches
find_s=$( { /usr/bin/time -f "%e" find "$data" -printf '%i %s %T@ %C@\n' >/dev/null; } 2>&1 | tail -n 1)
for t in $tools; do
  alive "$t" || continue
  warm=1
  warm_up "$t" backup2w-warmup && run_backup "$t" backup2w
  warm=0
done
# Unchanged backups run by the coffre-agent daemon, which keeps the job's
# unlocked keys between runs (bench/agent_runs.py); coffre only.
agent_bin=$(dirname "$coffre")/coffre-agent
if [[ " $tools " == *" coffre "* ]] && alive coffre && [[ -x $agent_bin ]]; then
  echo "== coffre backup2a, backup2aw (coffre-agent)" >&2
  printf '%s\n' "$COFFRE_PASSWORD" >"$work/password" && chmod 600 "$work/password"
  cut -d' ' -f1 /proc/loadavg >>"$work/loadavg"
  drop_flag=(); [[ $drop == 1 ]] && drop_flag=(--drop-caches)
  if "$py" "$here/agent_runs.py" "$agent_bin" "$work" "$(repo coffre)" "$work/password" "$data" \
      "${drop_flag[@]}" >"$work/logs/coffre-agent-runs.txt" 2>"$work/logs/coffre-agent-runs.err"; then
    while read -r step e c m; do
      record coffre "$step" wall "$e"; record coffre "$step" cpu "$c"; record coffre "$step" rss "$m"
      echo "   $step wall ${e}s  cpu ${c}s  rss $((m / 1024)) MiB" >&2
    done <"$work/logs/coffre-agent-runs.txt"
  else
    fail coffre "the agent's unchanged backups failed: $(tail -n 1 "$work/logs/coffre-agent-runs.err")"
  fi
fi
echo "== small change" >&2
"$py" "$here/dataset.py" mutate "$data" --seed "$seed" 2>&1 | tee "$work/logs/mutate.log" >&2
# Let a second pass, so that no tool's "modified in the same second" rule applies.
sleep 1
"$py" "$here/dataset.py" manifest "$data" >"$work/source.manifest"
for t in $tools; do alive "$t" && run_backup "$t" backup3; done
for t in $tools; do alive "$t" && run_restore "$t"; done
for t in $tools; do alive "$t" && run_check "$t"; done
for t in $tools; do
  [[ -d $(repo "$t") ]] || continue
  case $t in
    restic) record restic backup3 "info:client cache MiB (not in repository size)" "$(($(du -sb "$RESTIC_CACHE_DIR" | cut -f1) >> 20))" ;;
    borg) record borg backup3 "info:client cache MiB (not in repository size)" "$(($(du -sb "$BORG_BASE_DIR" | cut -f1) >> 20))" ;;
  esac
done
for t in "${!failed[@]}"; do record "$t" - failed "${failed[$t]}"; done

# ---------------------------------------------------------------- report
files=$(find "$data" -type f | wc -l)
note "command" "\`$cmdline\`"
note "date" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "machine" "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, kernel $(uname -r)"
note "storage" "$(df -h --output=source,fstype "$work" | tail -n 1 | xargs) (data, repositories and restores on the same file system)"
note "versions" "$("$coffre" --version 2>/dev/null | head -n 1) ($coffre, built $(date -u -r "$coffre" +%Y-%m-%dT%H:%M:%SZ); source tree HEAD at run time: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')); $(restic version | cut -d' ' -f1-2); $(borg --version)"
note "data set" "$size MB requested: $(($(du -sb --apparent-size "$data" | cut -f1) >> 20)) MiB apparent, $(($(du -s -B1 "$data" | cut -f1) >> 20)) MiB allocated, $files files; seed $seed; built in ${gen_s%.*} s"
note "small change" "$(sed 's/^ *//' "$work/logs/mutate.log")"
note "page cache" "$cache_mode"
note "metadata floor" "\`find\` printing every entry's inode, size, mtime and ctime, page cache dropped: $find_s s (one thread); any unchanged backup on a cold cache reads at least this"
note "load average" "1-minute load before the measured commands: min $(sort -n "$work/loadavg" | head -n 1), max $(sort -n "$work/loadavg" | tail -n 1) on $(nproc) CPUs (other work on the machine inflates wall times; CPU times are steadier)"
note "settings" "coffre defaults (zstd 3); restic repository v2, compression auto; borg repokey-blake2, zstd,3; restore: borg --sparse, restic 0.14 has no sparse restore; all encrypted, local repositories"
mkdir -p "$(dirname "$out")"
"$py" "$here/report.py" "$tsv" "$meta" | tee "$out"
echo "run.sh: report written to $out" >&2

if [[ $keep == 1 ]]; then
  echo "run.sh: kept $work" >&2
elif [[ ${#failed[@]} != 0 ]]; then
  find "$work" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  echo "run.sh: logs kept in $work/logs" >&2
else
  rm -rf "$work"
fi
[[ ${#failed[@]} == 0 ]]
