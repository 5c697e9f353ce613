#!/bin/bash
# End-to-end: what a new administrator meets with `coffre-agent --run`, the
# real binaries on local repositories.
# - A job's retention forgets only that job's snapshots: ones made by hand
#   (same paths without the job's tag, other paths) and by another job on
#   the same repository survive every run, whatever the policy.
# - A run piped into `head` does not die of SIGPIPE, and a prune killed
#   with -9 does not hold up the next prune for 30 minutes.
# - `coffre agent status` shows a run started by hand.
# - --check-config names a missing token file and a missing repository,
#   and --online opens each repository.
# - On a terminal, --run draws a progress line and ends with files and bytes.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_AGENT_BIN:?COFFRE_AGENT_BIN must name the coffre-agent binary}"
REPO=$WORK/repo
STATE=$WORK/state
CONF=$WORK/agent.conf
echo "agent run passphrase" >"$WORK/passphrase"
chmod 600 "$WORK/passphrase"
export COFFRE_PASSWORD_FILE=$WORK/passphrase
unset COFFRE_PASSWORD
expect_exit 0 coffre init --repo "$REPO"
mkdir -p "$WORK/src" "$WORK/other"
echo "business data" >"$WORK/src/file.txt"
echo "other data" >"$WORK/other/x.txt"
agent() { timeout -k 10 300 "$COFFRE_AGENT_BIN" --config "$CONF" "$@"; }

# write_conf KEEP_RULE: two jobs over the same paths; only "nightly" keeps by KEEP_RULE.
write_conf() {
  cat >"$CONF" <<EOF
[agent]
state_dir = "$STATE"
[[job]]
name = "nightly"
repo = "$REPO"
password_file = "$WORK/passphrase"
paths = ["$WORK/src"]
schedule = "daily 02:30"
[job.retention]
$1
prune = true
[[job]]
name = "other"
repo = "$REPO"
password_file = "$WORK/passphrase"
paths = ["$WORK/src"]
schedule = "daily 03:30"
EOF
}

snapshot_ids() {
  coffre snapshots --repo "$REPO" --json | python3 -c 'import json,sys
for s in json.load(sys.stdin): print(s["id"])'
}

retention_scope() {
  local outsiders=() id rule run
  for args in "--tag manual $WORK/other" "--tag manual $WORK/other" "$WORK/src" \
    "--tag coffre-job:nightly $WORK/src $WORK/other"; do
    # shellcheck disable=SC2086
    expect_exit 0 coffre backup --repo "$REPO" --json $args
    outsiders+=("$(json_eval 'j["snapshot_id"]')")
  done
  write_conf "keep_last = 1"
  for run in 1 2; do
    expect_exit 0 agent --run other
  done
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  outsiders+=($(json_eval '" ".join(s["id"] for s in j if "coffre-job:other" in s["tags"])'))
  for rule in "keep_last = 1" "keep_daily = 1" "keep_within = \"1h\"" 'keep_tag = ["none-has-it"]'; do
    write_conf "$rule"
    for run in 1 2 3; do
      echo "edit $rule $run" >"$WORK/src/file.txt"
      expect_exit 0 agent --run nightly
    done
    local left
    left=$(snapshot_ids)
    for id in "${outsiders[@]}"; do
      grep -qx "$id" <<<"$left" || fail "rule '$rule': snapshot $id, not the job's, was forgotten"
    done
  done
  # The last rule keeps none of the job's own snapshots, and only those go.
  expect_exit 0 coffre snapshots --repo "$REPO" --json
  [[ $(json_eval 'len(j)') == "${#outsiders[@]}" ]] ||
    fail "expected only the ${#outsiders[@]} other snapshots left: $(cat "$OUT")"
  expect_exit 0 coffre check --repo "$REPO" --read-data
}

closed_pipe_and_killed_prune() {
  write_conf "keep_last = 2"
  # The reader goes away at once; the agent keeps writing log lines.
  local rc
  set +o pipefail
  timeout 300 "$COFFRE_AGENT_BIN" --config "$CONF" --run nightly 2>&1 | head -c 1 >/dev/null
  rc=${PIPESTATUS[0]}
  set -o pipefail
  ((rc == 0)) || fail "coffre-agent --run | head exited $rc (141 is death by SIGPIPE)"
  set +o pipefail
  coffre snapshots --repo "$REPO" 2>&1 | head -c 1 >/dev/null
  rc=${PIPESTATUS[0]}
  set -o pipefail
  ((rc == 0)) || fail "coffre snapshots | head exited $rc"

  step "a prune killed with -9 does not block the next one"
  # A sparse pack to repack, and an upload limit that keeps the prune
  # inside its lock for minutes: then it is killed there.
  local src=$WORK/sparse first
  mkdir -p "$src"
  random_file "$src/big" 3
  random_file "$src/small" 1  # past the 256 KiB burst of the limiter
  expect_exit 0 coffre backup --repo "$REPO" --json "$src"
  first=$(json_eval 'j["snapshot_id"]')
  rm "$src/big"
  expect_exit 0 coffre backup --repo "$REPO" "$src"
  expect_exit 0 coffre forget --repo "$REPO" "$first"
  ls "$REPO/locks" | grep -q . && fail "locks/ not empty before the prune: $(ls "$REPO/locks")"
  coffre prune --repo "$REPO" --limit-upload 1KiB >"$WORK/prune.log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 60))
  until ls "$REPO/locks" | grep -q .; do
    kill -0 "$pid" 2>/dev/null || fail "the slow prune ended early: $(cat "$WORK/prune.log")"
    ((SECONDS < deadline)) || fail "the prune took no lock within 60 s"
    sleep 0.05
  done
  sleep 0.5  # into the throttled upload
  pkill -KILL -f -- "--limit-upload 1KiB" || true
  wait "$pid" 2>/dev/null || true
  ls "$REPO/locks" | grep -q . || fail "the killed prune left no lock: the test proves nothing"
  expect_exit 0 coffre prune --repo "$REPO" --json
  # The next run removed the dead prune's lock (taking its own) and swept
  # its plan: nothing is left under locks/.
  [[ -z $(ls "$REPO/locks") ]] || fail "the dead prune left $(ls "$REPO/locks") in locks/: $(cat "$OUT")"
  expect_exit 0 coffre check --repo "$REPO" --read-data
}

status_after_manual_run() {
  write_conf "keep_last = 2"
  rm -rf "$STATE"
  expect_exit 0 agent --run nightly
  expect_exit --multiline 1 coffre agent status --state-dir "$STATE"
  grep -q "^nightly .*success (by hand)" "$OUT" || fail "status should show the manual run: $(cat "$OUT")"
  expect_exit --multiline 1 coffre agent status --state-dir "$STATE" --json
  [[ $(json_eval '[x for x in j["jobs"] if x["name"] == "nightly"][0]["last_run"]["trigger"]') == manual ]] ||
    fail "status --json: $(cat "$OUT")"
}

check_config_files() {
  cat >"$WORK/bad.conf" <<EOF
[agent]
state_dir = "$STATE"
[[job]]
name = "vault"
repo = "https://127.0.0.1:1/acme/main"
password_file = "$WORK/passphrase"
token_file = "$WORK/no-such-token"
paths = ["$WORK/src"]
schedule = "daily 02:30"
[[job]]
name = "gone"
repo = "$WORK/no-such-repo"
password_file = "$WORK/passphrase"
paths = ["$WORK/src"]
schedule = "daily 02:30"
EOF
  local rc=0
  "$COFFRE_AGENT_BIN" --config "$WORK/bad.conf" --check-config >"$OUT" 2>"$ERR" || rc=$?
  ((rc == 1)) || fail "--check-config with missing files should exit 1, got $rc: $(cat "$OUT" "$ERR")"
  grep -q "job vault: cannot read token file $WORK/no-such-token" "$ERR" ||
    fail "the missing token file is not named: $(cat "$ERR")"
  grep -q "job gone: .*$WORK/no-such-repo/config" "$ERR" ||
    fail "the missing repository is not named: $(cat "$ERR")"

  write_conf "keep_last = 2"
  expect_exit 0 agent --check-config --online
  grep -q "every repository opens" "$OUT" || fail "--online: $(cat "$OUT")"
  echo "a wrong passphrase" >"$WORK/wrong"
  sed "s|$WORK/passphrase|$WORK/wrong|" "$CONF" >"$WORK/wrong.conf"
  rc=0
  "$COFFRE_AGENT_BIN" --config "$WORK/wrong.conf" --check-config >"$OUT" 2>"$ERR" || rc=$?
  ((rc == 0)) || fail "offline, a wrong passphrase cannot be seen (exit $rc): $(cat "$ERR")"
  rc=0
  "$COFFRE_AGENT_BIN" --config "$WORK/wrong.conf" --check-config --online >"$OUT" 2>"$ERR" || rc=$?
  ((rc == 1)) || fail "--online with a wrong passphrase should exit 1, got $rc"
  grep -qi "wrong passphrase" "$ERR" || fail "--online should say why: $(cat "$ERR")"
}

progress_on_a_terminal() {
  # The dump runs before the walk, so the walk reports after a second:
  # with a rate, and on the second run a total and a percentage.
  write_conf "keep_last = 2"
  cat >>"$CONF" <<EOF
[[job]]
name = "slow"
repo = "$REPO"
password_file = "$WORK/passphrase"
paths = ["$WORK/src"]
schedule = "daily 04:30"
[[job.dump]]
path = "/dumps/slow.txt"
command = "sleep 1.5; echo slow"
EOF
  for i in $(seq 1 50); do echo "file $i" >"$WORK/src/f$i"; done
  expect_exit 0 agent --run slow
  # script(1) gives the agent a real terminal on stderr.
  script -qec "'$COFFRE_AGENT_BIN' --config '$CONF' --run slow" /dev/null >"$WORK/tty.log" 2>&1 ||
    fail "--run on a terminal failed: $(tail -c 2000 "$WORK/tty.log")"
  tr '\r' '\n' <"$WORK/tty.log" >"$WORK/tty.lines"
  grep -q "files, .* of .* (.*%)" "$WORK/tty.lines" ||
    fail "no progress line with a total on the terminal: $(tail -n 5 "$WORK/tty.lines")"
  grep -q "/s" "$WORK/tty.lines" || fail "no rate in the progress: $(tail -n 5 "$WORK/tty.lines")"
  grep -q "job slow: success .* [0-9]* files, [0-9]* bytes" "$WORK/tty.lines" ||
    fail "the final line should give files and bytes: $(tail -n 3 "$WORK/tty.lines")"
  # Not on a terminal: no progress line at all.
  expect_exit 0 agent --run slow
  if grep -q $'\r' "$ERR"; then fail "a progress line was drawn off a terminal"; fi
}

section "a job's retention forgets only that job's snapshots" retention_scope
section "a closed pipe kills neither agent nor coffre" closed_pipe_and_killed_prune
section "agent status shows a run started by hand" status_after_manual_run
section "--check-config checks each job's files, --online each repository" check_config_files
section "--run draws a progress line on a terminal" progress_on_a_terminal
