#!/usr/bin/env bash
# crash_loop.sh: kill -9 loops. Starts `coffre backup`, `forget` or `prune`
# on a local repository, kills it with SIGKILL after a random (seeded)
# delay, then proves that nothing committed was lost: `coffre check
# --read-data` passes, and every snapshot that exists restores bit for bit
# the tree it was taken of. A killed backup may or may not have saved its
# snapshot; either is fine, but a snapshot that exists must be exact. The
# source tree changes between iterations, so snapshots differ.
#
# Usage: scripts/crash_loop.sh [--iterations N] [--seed S]
#            [--command backup|forget|prune|all] [--coffre PATH]
#            [--work DIR] [--keep]
#   --iterations N  kills per command (default 100)
#   --seed S        seeds the delays and tree changes (default: random);
#                   printed first, so a failing run can be replayed
#   --command C     which command to kill (default all: each in turn)
#   --coffre PATH   the binary (default $COFFRE_BIN, else build-dev/cli/coffre)
#   --work DIR      where the repository and trees go (default a new
#                   folder under $TMPDIR, removed at the end unless --keep
#                   or a failure)
# Nightly: scripts/crash_loop.sh --iterations 100 --command all
# Exit: 0 if every iteration held; 1 with "FAIL: seed S iteration I ..."
# naming the first one that did not; 2 on a usage error.
# Each snapshot is tagged attempt-N; $WORK/manifests/attempt-N holds the
# sha256 of every file of the tree that backup N was given.
set -euo pipefail

ITERATIONS=100
SEED=""
COMMAND=all
KEEP=0
WORK=""
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COFFRE=${COFFRE_BIN:-$ROOT/build-dev/cli/coffre}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

while (($#)); do
  case $1 in
    --iterations) ITERATIONS=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --command) COMMAND=${2:?}; shift 2 ;;
    --coffre) COFFRE=${2:?}; shift 2 ;;
    --work) WORK=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    *) echo "crash_loop.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $ITERATIONS =~ ^[0-9]+$ ]] || { echo "crash_loop.sh: --iterations wants a number" >&2; exit 2; }
case $COMMAND in backup|forget|prune|all) ;; *) echo "crash_loop.sh: --command must be backup, forget, prune or all" >&2; exit 2 ;; esac
[[ -x $COFFRE ]] || { echo "crash_loop.sh: $COFFRE is not an executable coffre (--coffre)" >&2; exit 2; }
[[ -n $SEED ]] || SEED=$(( $(od -An -N2 -tu2 /dev/urandom) ))
[[ $SEED =~ ^[0-9]+$ ]] || { echo "crash_loop.sh: --seed wants a number" >&2; exit 2; }
RANDOM=$SEED  # every later $RANDOM follows from the seed

if [[ -z $WORK ]]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffre-crash-loop.XXXXXX")
else
  mkdir -p "$WORK"
fi
REPO=$WORK/repo
SRC=$WORK/src
MANIFESTS=$WORK/manifests
export COFFRE_PASSWORD=${COFFRE_PASSWORD:-crash loop passphrase}
unset COFFRE_REPO COFFRE_PASSWORD_FILE

ITERATION=0
CURRENT=setup
DELAY_MS=0
PID=""
finish() {
  local rc=$?
  [[ -n $PID ]] && kill -KILL "$PID" 2>/dev/null
  if ((rc == 0 && KEEP == 0)); then rm -rf "$WORK"; else echo "work dir kept: $WORK" >&2; fi
  exit $rc
}
trap finish EXIT

fail() {
  echo "FAIL: seed $SEED iteration $ITERATION ($CURRENT, killed after ${DELAY_MS} ms): $*" >&2
  echo "replay: $0 --seed $SEED --command $COMMAND --iterations $ITERATIONS" >&2
  exit 1
}

# run ARGS...: coffre to completion; fails the loop unless it exits 0.
run() {
  local rc=0
  "$COFFRE" --repo "$REPO" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  ((rc == 0)) || fail "coffre $* exited $rc: $(head -n 5 "$WORK/err")"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A random file of 0..1.5 MiB (content from /dev/urandom: the seed decides
# sizes and shapes, not bytes), half of them text-like.
random_file() {
  local kib=$(( RANDOM % 1536 ))
  ((RANDOM % 4)) || kib=$(( RANDOM % 4 ))
  if ((RANDOM % 2)); then
    head -c $((kib * 1024)) /dev/urandom >"$1"
  else
    head -c $((kib * 256)) /dev/urandom | od -An -tx1 | head -c $((kib * 1024)) >"$1"
  fi
}

# Changes the tree: new files, new versions, deletions, a copy, a folder.
mutate() {
  local n=$(( 1 + RANDOM % 3 )) i files pick dir
  for ((i = 0; i < n; i++)); do
    mapfile -t files < <(find "$SRC" -type f | sort)
    if ((${#files[@]} == 0)); then
      random_file "$SRC/f$ITERATION-$i"
      continue
    fi
    pick=${files[RANDOM % ${#files[@]}]}
    case $(( RANDOM % 5 )) in
      0) dir=$SRC/d$((RANDOM % 4)); mkdir -p "$dir"; random_file "$dir/f$ITERATION-$i" ;;
      1|2) random_file "$pick.new"; mv "$pick.new" "$pick" ;;
      3) rm -f "$pick" ;;
      4) cp "$pick" "$SRC/copy-$ITERATION-$i" ;;
    esac
  done
}

# sha256 of every file and the list of folders, relative to $1.
manifest() {
  (cd "$1" && find . -type d | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

ATTEMPT=0
# start ARGS...: coffre in the background, as $PID.
start() {
  "$COFFRE" --repo "$REPO" "$@" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
}

# kill_after EST_MS: kills $PID after a random delay of up to 1.2 EST_MS;
# sets RAN_MS to how long it ran and KILLED to 1 if the kill hit it.
kill_after() {
  local est=$1 start_ms rc=0
  DELAY_MS=$(( RANDOM * 32768 + RANDOM ))
  DELAY_MS=$(( DELAY_MS % (est * 12 / 10 + 1) ))
  start_ms=$(now_ms)
  sleep "$(printf '%d.%03d' $((DELAY_MS / 1000)) $((DELAY_MS % 1000)))"
  kill -KILL "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || rc=$?  # no "Killed" job notice
  PID=""
  RAN_MS=$(( $(now_ms) - start_ms ))
  KILLED=0
  if ((rc == 137)); then
    KILLED=1
  elif ((rc != 0)); then
    fail "coffre exited $rc before the kill: $(head -n 5 "$WORK/err")"
  fi
}

# Sets ARGS to a backup of the current tree, tagged so that its snapshot
# maps to the tree's manifest.
backup_args() {
  ATTEMPT=$((ATTEMPT + 1))
  manifest "$SRC" >"$MANIFESTS/attempt-$ATTEMPT"
  ARGS=(backup --tag "attempt-$ATTEMPT" "$SRC")
}

# The invariant: check --read-data passes and every snapshot restores the
# tree of its attempt exactly.
verify() {
  local ids id tag n=0
  run check --read-data
  run snapshots --json
  ids=$(python3 -c 'import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"], (s.get("tags") or ["untagged"])[0])' "$WORK/out")
  while read -r id tag; do
    [[ -n $id ]] || continue
    [[ -f $MANIFESTS/$tag ]] || fail "snapshot $id has tag '$tag', which no backup was given"
    rm -rf "$WORK/target"
    run restore "$id" --target "$WORK/target"
    if ! diff <(manifest "$WORK/target$SRC") "$MANIFESTS/$tag" >"$WORK/diff"; then
      fail "snapshot $id ($tag) does not restore its tree: $(head -n 10 "$WORK/diff")"
    fi
    n=$((n + 1))
  done <<<"$ids"
  VERIFIED=$n
}

# Keeps the number of snapshots (and so the restores of verify) bounded.
trim() {
  run snapshots --json
  local count
  count=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/out")
  if ((count > 6)); then
    run forget --keep-last 4
    run prune
  fi
}

declare -A EST_MS=([backup]=1000 [forget]=400 [prune]=800)

iteration() {
  local cmd=$1
  CURRENT="setup of $cmd"
  DELAY_MS=0
  mutate
  case $cmd in
    backup)
      backup_args
      start "${ARGS[@]}"
      ;;
    forget)
      backup_args
      run "${ARGS[@]}"
      start forget --keep-last $(( 1 + RANDOM % 4 ))
      ;;
    prune)
      backup_args
      run "${ARGS[@]}"
      run forget --keep-last $(( 1 + RANDOM % 3 ))
      start prune
      ;;
  esac
  CURRENT="$cmd"
  kill_after "${EST_MS[$cmd]}"
  # A run that finished first says how long the command takes now.
  ((KILLED)) || EST_MS[$cmd]=$(( RAN_MS > 50 ? RAN_MS : 50 ))
  CURRENT="check after $cmd"
  verify
  trim
  echo "iteration $ITERATION: $cmd $( ((KILLED)) && echo "killed after ${DELAY_MS} ms" || echo "finished in ${RAN_MS} ms"), $VERIFIED snapshot(s) restore exactly"
}

echo "crash loop: seed $SEED, $ITERATIONS iteration(s) per command, command $COMMAND, work dir $WORK"
mkdir -p "$SRC" "$MANIFESTS"
for i in 1 2 3 4; do random_file "$SRC/start-$i"; done
run init
backup_args
run "${ARGS[@]}"

if [[ $COMMAND == all ]]; then COMMANDS=(backup forget prune); else COMMANDS=("$COMMAND"); fi
for ((n = 1; n <= ITERATIONS; n++)); do
  for cmd in "${COMMANDS[@]}"; do
    ITERATION=$((ITERATION + 1))
    iteration "$cmd"
  done
done
echo "crash loop passed: seed $SEED, $ITERATION iteration(s)"
