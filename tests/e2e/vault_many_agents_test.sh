#!/bin/bash
# End-to-end: one real coffre-vault serving many agents at once. Nine
# `coffre backup` processes run together through it, six each into a
# repository of its own and three into one shared repository (its packs,
# index objects and snapshots written side by side), then nine restores
# run together. Every backup and restore exits 0, every tree comes back bit
# for bit, and `check --read-data` passes on every repository. Small data:
# the point is the vault's threads under load (the tsan label runs this in
# a ThreadSanitizer build), not speed.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
DATA=$WORK/vault
OWN=6 SHARED=3
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }

step "setup: a vault with one tenant, a source tree for each agent"
vault init >/dev/null 2>&1
vault tenant add fleet
vault token add --tenant fleet --role admin >"$WORK/token"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
agent() { coffre --token-file "$WORK/token" --cacert "$WORK/ca.pem" "$@"; }
for ((i = 0; i < OWN + SHARED; i++)); do
  mkdir -p "$WORK/src$i/sub"
  random_file "$WORK/src$i/own.bin" 2
  random_file "$WORK/src$i/sub/small.bin" 1
  # Data every agent holds: the shared repository stores it once.
  head -c $((1024 * 1024)) /dev/zero | tr '\0' 'c' >"$WORK/src$i/common.txt"
done
repo_of() { (($1 < OWN)) && echo "$BASE/fleet/own$1" || echo "$BASE/fleet/shared"; }
for ((i = 0; i < OWN; i++)); do expect_exit 0 agent init --repo "$(repo_of "$i")"; done
expect_exit 0 agent init --repo "$BASE/fleet/shared"

# together VERB: runs agent i's VERB for every i at once; fails naming each
# agent that did not exit 0.
together() {
  local verb=$1 i failed=()
  local -a pids=()
  for ((i = 0; i < OWN + SHARED; i++)); do
    "$verb" "$i" >"$WORK/$verb$i.out" 2>"$WORK/$verb$i.err" &
    pids+=($!)
  done
  for ((i = 0; i < OWN + SHARED; i++)); do
    wait "${pids[i]}" || failed+=("agent $i (exit $?): $(head -n 3 "$WORK/$verb$i.err")")
  done
  ((${#failed[@]} == 0)) || fail "$verb failed for: ${failed[*]}"
}
backup_one() { agent backup --repo "$(repo_of "$1")" --tag "agent$1" "$WORK/src$1"; }
restore_one() {
  local id
  id=$(agent snapshots --repo "$(repo_of "$1")" --json |
    python3 -c 'import json, sys; print([s["id"] for s in json.load(sys.stdin) if "agent'"$1"'" in s.get("tags", [])][0])')
  agent restore "$id" --repo "$(repo_of "$1")" --target "$WORK/restored$1"
}

step "$((OWN + SHARED)) agents back up at once, $SHARED of them into one repository"
together backup_one
expect_exit 0 agent snapshots --repo "$BASE/fleet/shared" --json
[[ $(json_eval 'len(j)') == "$SHARED" ]] || fail "the shared repository holds $(json_eval 'len(j)') snapshots, not $SHARED"

step "$((OWN + SHARED)) agents restore at once; every tree is bit for bit"
together restore_one
for ((i = 0; i < OWN + SHARED; i++)); do compare_trees "$WORK/src$i" "$WORK/restored$i$WORK/src$i"; done

step "check --read-data passes on every repository"
for ((i = 0; i < OWN; i++)); do expect_exit 0 agent check --repo "$(repo_of "$i")" --read-data; done
expect_exit 0 agent check --repo "$BASE/fleet/shared" --read-data

step "the vault stops cleanly on SIGTERM"
kill -TERM "$VAULT_PID"
rc=0
wait "$VAULT_PID" || rc=$?
((rc == 0)) || fail "the vault exited $rc on SIGTERM: $(tail -n 5 "$WORK/serve.log")"
