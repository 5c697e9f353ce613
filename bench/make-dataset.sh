#!/usr/bin/env bash
# Usage: bench/make-dataset.sh DIR SIZE_MB [SEED]
#
# Builds a reproducible benchmark data set of about SIZE_MB MiB in DIR (which
# must not exist): 30% source/text, 20% ELF binaries, 15% SQLite database,
# 15% data in a sparse VM image (apparent size twice that), 10% already
# compressed files, 10% small files (1-8 KiB) in nested directories.
# Same SEED + same machine (same /usr) => same bytes. See bench/dataset.py.
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 DIR SIZE_MB [SEED]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || py=python3
if [[ -e $1 ]]; then
  echo "$0: $1 already exists; remove it first" >&2
  exit 2
fi
exec "$py" "$here/dataset.py" generate "$1" "$2" --seed "${3:-coffre-bench-1}"
