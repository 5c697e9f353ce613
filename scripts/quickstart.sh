#!/usr/bin/env bash
# The main job on a fresh machine: installs dependencies, builds coffre and
# coffre-vault, starts a local vault (TLS on 127.0.0.1, a free port, the
# embedded filesystem storage), creates a tenant, a token and a repository
# on it, backs up a sample tree through it, lists the snapshots, restores the
# latest one elsewhere and verifies it bit for bit, then stops the vault.
# Usage: scripts/quickstart.sh [SOURCE_DIR]   (default: this project's docs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source_dir=$(realpath "${1:-$root/docs}")

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target coffre coffre-vault
coffre=$root/build-release/cli/coffre
vault=$root/build-release/vault/coffre-vault

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
