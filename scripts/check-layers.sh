#!/usr/bin/env bash
# Fails if a source file includes a header from a layer above its own:
# core includes neither agent, vault nor cli; agent not cli or vault; vault
# not agent or cli. Run by the build (target check_layers).
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"
bad=0
check() {  # check FOLDER FORBIDDEN_PREFIX...
  local dir=$1; shift
  [[ -d $dir ]] || return 0
  for prefix in "$@"; do
    if grep -rnE "^#include \"${prefix}/" "$dir" --include='*.h' --include='*.cc'; then
      echo "layer violation: $dir/ must not include $prefix/" >&2
      bad=1
    fi
  done
}
check core agent vault cli
check agent cli vault
check vault agent cli
exit $bad
