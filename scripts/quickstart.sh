#!/usr/bin/env bash
# The main job on a fresh machine: installs dependencies, builds coffre,
# creates a repository in a local folder, backs up a sample tree, lists the
# snapshots, restores the latest one elsewhere and verifies it bit for bit.
# Usage: scripts/quickstart.sh [SOURCE_DIR]   (default: this project's source)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source_dir=$(realpath "${1:-$root/docs}")

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target coffre
coffre=$root/build-release/cli/coffre

work=$root/build-release/quickstart
rm -rf "$work" && mkdir -p "$work"
export COFFRE_REPO=$work/repo
export COFFRE_PASSWORD=${COFFRE_PASSWORD:-quickstart-passphrase}

set -x
"$coffre" init
"$coffre" backup "$source_dir"
"$coffre" snapshots
"$coffre" restore latest --target "$work/restored"
"$coffre" check --read-data
set +x
diff -r --no-dereference "$source_dir" "$work/restored$source_dir"
echo "quickstart: backup of $source_dir restored bit for bit into $work/restored$source_dir"
