#!/bin/bash
# End-to-end: the coffre-agent daemon, a real process, with a real
# coffre-vault on 127.0.0.1. A job that falls due runs its before hook, backs
# up (excludes applied, a sqlite3 dump streamed in as a file) into the vault
# and runs its after hook with the outcome in its environment;
# `coffre agent status` reports it; SIGHUP loads a new job and refuses a
# broken file; a failing before hook aborts its job; SIGTERM during a job
# stops the agent cleanly and leaves a repository that checks.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
: "${COFFRE_AGENT_BIN:?COFFRE_AGENT_BIN must name the coffre-agent binary}"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed (scripts/install-deps.sh installs it)"
DATA=$WORK/vault
STATE=$WORK/state
CONF=$WORK/agent.conf
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }

step "setup: a vault, a repository, data and a database"
vault init >/dev/null 2>&1
vault tenant add acme
vault token add --tenant acme --role backup >"$WORK/token"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
URL=https://127.0.0.1:$PORT/acme/main
echo "agent test passphrase" >"$WORK/passphrase"
chmod 600 "$WORK/passphrase"
as_vault() { coffre --token-file "$WORK/token" --cacert "$WORK/ca.pem" --password-file "$WORK/passphrase" "$@"; }
expect_exit 0 as_vault init --repo "$URL"
SRC=$WORK/src
mkdir -p "$SRC/sub"
random_file "$SRC/data.bin" 2
echo "kept" >"$SRC/sub/notes.txt"
echo "left out" >"$SRC/sub/scratch.tmp"
sqlite3 "$WORK/app.db" "create table t(id integer primary key, v text);
  insert into t(v) values ('alpha'), ('beta'), ('gamma');"

job_main() {
  cat <<EOF
[[job]]
name = "main"
repo = "$URL"
password_file = "$WORK/passphrase"
token_file = "$WORK/token"
cacert = "$WORK/ca.pem"
paths = ["$SRC"]
exclude = ["*.tmp"]
schedule = "*-*-* *:*:0/2"
[job.hooks]
before = "echo before >>'$WORK/hooks.log'"
after = "env | grep ^COFFRE_ | sort >'$WORK/after-main.env'"
[[job.dump]]
path = "/dumps/app.sql"
command = "sqlite3 '$WORK/app.db' .dump"
EOF
}
{
  echo "[agent]"
  echo "state_dir = \"$STATE\""
  job_main
} >"$CONF"

step "--check-config accepts the file and refuses a broken one"
expect_exit 0 "$COFFRE_AGENT_BIN" --check-config --config "$CONF"
grep -q "main" "$OUT" || fail "--check-config should list the job: $(cat "$OUT")"
printf '[[job]]\nname = "x"\nbogus = 1\n' >"$WORK/bad.conf"
rc=0
"$COFFRE_AGENT_BIN" --check-config --config "$WORK/bad.conf" >"$OUT" 2>"$ERR" || rc=$?
((rc == 2)) || fail "a broken config should exit 2, got $rc"

# wait_status PYTHON-EXPR: polls status.json until EXPR over `j` is true.
wait_status() {
  local deadline=$((SECONDS + ${2:-60}))
  until [[ -f $STATE/status.json ]] && python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
jobs = {x["name"]: x for x in j["jobs"]}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$STATE/status.json" "$1" 2>/dev/null; do
    kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited: $(tail -n 20 "$WORK/agent.log")"
    ((SECONDS < deadline)) || fail "timed out waiting for: $1
$(cat "$STATE/status.json" 2>/dev/null)
$(tail -n 20 "$WORK/agent.log")"
    sleep 0.2
  done
}

step "the daemon runs the due job: hooks, excludes, the dump, into the vault"
"$COFFRE_AGENT_BIN" --config "$CONF" 2>"$WORK/agent.log" &
AGENT_PID=$!
on_exit 'kill -KILL '"$AGENT_PID"' 2>/dev/null'
wait_status '(jobs["main"].get("last_run") or {}).get("outcome") == "success"'
grep -q "COFFRE_OUTCOME=success" "$WORK/after-main.env" || fail "after hook env: $(cat "$WORK/after-main.env")"
grep -q "COFFRE_SNAPSHOT=[0-9a-f]\{64\}" "$WORK/after-main.env" || fail "no snapshot id in the after hook's env"
grep -q "before" "$WORK/hooks.log" || fail "the before hook did not run"
expect_exit 0 coffre agent status --state-dir "$STATE" --json
[[ $(json_eval '[x for x in j["jobs"] if x["name"] == "main"][0]["last_run"]["exit_code"]') == 0 ]] ||
  fail "agent status --json: $(cat "$OUT")"
expect_exit 0 coffre agent status --state-dir "$STATE"
grep -q "main" "$OUT" || fail "agent status should show the job: $(cat "$OUT")"

step "the snapshot restores: data, no excluded file, the dump loads back"
expect_exit 0 as_vault restore latest --repo "$URL" --target "$WORK/out"
cmp "$SRC/data.bin" "$WORK/out$SRC/data.bin" || fail "data.bin differs"
[[ -f $WORK/out$SRC/sub/notes.txt && ! -e $WORK/out$SRC/sub/scratch.tmp ]] ||
  fail "the exclude was not applied: $(find "$WORK/out" | head)"
sqlite3 "$WORK/restored.db" <"$WORK/out/dumps/app.sql"
[[ $(sqlite3 "$WORK/restored.db" "select group_concat(v) from t") == "alpha,beta,gamma" ]] ||
  fail "the restored dump does not hold the data"

step "SIGHUP loads a new job; a broken file is refused and the agent goes on"
mkdir -p "$WORK/local"
expect_exit 0 coffre init --repo "$WORK/local/repo" --password-file "$WORK/passphrase"
{
  echo "[agent]"
  echo "state_dir = \"$STATE\""
  job_main
  cat <<EOF
[[job]]
name = "blocked"
repo = "$WORK/local/repo"
password_file = "$WORK/passphrase"
paths = ["$SRC"]
schedule = "*-*-* *:*:0/2"
[job.hooks]
before = "echo refusing; exit 3"
after = "env | grep ^COFFRE_ | sort >'$WORK/after-blocked.env'"
EOF
} >"$CONF.new"
mv "$CONF.new" "$CONF"
kill -HUP "$AGENT_PID"
wait_status '(jobs.get("blocked", {}).get("last_run") or {}).get("outcome") == "failure"'
grep -q "COFFRE_OUTCOME=failure" "$WORK/after-blocked.env" || fail "after hook of the aborted job: $(cat "$WORK/after-blocked.env")"
grep -q "before hook exited with 3" "$WORK/after-blocked.env" || fail "COFFRE_ERROR should name the hook"
expect_exit 0 coffre snapshots --repo "$WORK/local/repo" --password-file "$WORK/passphrase" --json
[[ $(json_eval 'len(j)') == 0 ]] || fail "an aborted job saved a snapshot"
cp "$CONF" "$CONF.good"
echo "this is not toml [" >>"$CONF"
kill -HUP "$AGENT_PID"
deadline=$((SECONDS + 20))
until grep -q "reload refused" "$WORK/agent.log"; do
  ((SECONDS < deadline)) || fail "no refusal logged: $(tail -n 5 "$WORK/agent.log")"
  sleep 0.1
done
kill -0 "$AGENT_PID" || fail "a broken config stopped the agent"

step "SIGTERM during a job: the agent stops cleanly and the repository checks"
cat >"$CONF" <<EOF
[agent]
state_dir = "$STATE"
[[job]]
name = "slow"
repo = "$WORK/local/repo"
password_file = "$WORK/passphrase"
paths = ["$SRC"]
schedule = "*-*-* *:*:0/2"
[[job.dump]]
path = "/dumps/slow"
command = "head -c 3000000 /dev/urandom; sleep 60"
EOF
kill -HUP "$AGENT_PID"
wait_status 'jobs.get("slow", {}).get("running") == True'
kill -TERM "$AGENT_PID"
deadline=$((SECONDS + 30))
while kill -0 "$AGENT_PID" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the agent did not stop within 30 s of SIGTERM"
  sleep 0.1
done
rc=0
wait "$AGENT_PID" || rc=$?
((rc == 0)) || fail "the agent exited $rc after SIGTERM: $(tail -n 5 "$WORK/agent.log")"
expect_exit 0 coffre check --repo "$WORK/local/repo" --password-file "$WORK/passphrase"
expect_exit --multiline 1 coffre agent status --state-dir "$STATE"
grep -qi "not running" "$OUT" "$ERR" || fail "agent status should say the agent is not running"
