#!/usr/bin/env bash
# The main job on a fresh machine: installs dependencies, builds coffre,
# coffre-vault and coffre-agent, starts a local vault (TLS on 127.0.0.1, a
# free port, the embedded filesystem storage), creates a tenant, a token and
# a repository on it, backs up a sample tree through it, lists the
# snapshots, restores the latest one elsewhere and verifies it bit for bit,
# then runs the same backup once as a coffre-agent job (what the service
# would do nightly) and shows its status, then stops the vault.
# Usage: scripts/quickstart.sh [SOURCE_DIR]   (default: this project's docs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source_dir=$(realpath "${1:-$root/docs}")

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target coffre coffre-vault coffre-agent
coffre=$root/build-release/cli/coffre
vault=$root/build-release/vault/coffre-vault
agent=$root/build-release/cli/coffre-agent

work=$root/build-release/quickstart
rm -rf "$work" && mkdir -p "$work"
export COFFRE_PASSWORD=${COFFRE_PASSWORD:-quickstart-passphrase}

set -x
"$vault" --data "$work/vault" init
"$vault" --data "$work/vault" tenant add demo --quota 10GiB
"$vault" --data "$work/vault" token add --tenant demo --role backup >"$work/token"
"$vault" --data "$work/vault" cert >"$work/vault-cert.pem"
"$vault" --data "$work/vault" serve --listen 127.0.0.1:0 2>"$work/vault.log" &
set +x
vault_pid=$!
trap 'kill $vault_pid 2>/dev/null || true' EXIT
until grep -q '^listening on ' "$work/vault.log"; do
  kill -0 $vault_pid 2>/dev/null || { cat "$work/vault.log"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/vault.log")/demo/main
export COFFRE_REPO=$url
export COFFRE_TOKEN=$(cat "$work/token")

set -x
"$coffre" --cacert "$work/vault-cert.pem" init
"$coffre" --cacert "$work/vault-cert.pem" backup "$source_dir"
"$coffre" --cacert "$work/vault-cert.pem" snapshots
"$coffre" --cacert "$work/vault-cert.pem" restore latest --target "$work/restored"
"$coffre" --cacert "$work/vault-cert.pem" check --read-data
set +x
diff -r --no-dereference "$source_dir" "$work/restored$source_dir"
echo "quickstart: backup of $source_dir through the vault at $url restored bit for bit into $work/restored$source_dir"

# The same backup as a job of the agent service, run once by hand.
printf '%s\n' "$COFFRE_PASSWORD" >"$work/passphrase"
chmod 600 "$work/passphrase" "$work/token"
cat >"$work/agent.conf" <<EOF
[agent]
state_dir = "$work/agent-state"
[[job]]
name = "demo"
repo = "$url"
password_file = "$work/passphrase"
token_file = "$work/token"
cacert = "$work/vault-cert.pem"
paths = ["$source_dir"]
schedule = "daily 02:30"
EOF
set -x
"$agent" --config "$work/agent.conf" --check-config --online
"$agent" --config "$work/agent.conf" --run demo
"$coffre" agent status --state-dir "$work/agent-state" || true # exit 1: no service runs here
"$coffre" --job demo --agent-config "$work/agent.conf" snapshots
set +x
echo "quickstart: coffre-agent ran job demo; its configuration is $work/agent.conf (see coffre-agent(8))"
