#!/usr/bin/env bash
# Installs every Debian package Coffre needs to build, test and benchmark.
# Idempotent and non-interactive: packages already present are left alone.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libzstd-dev libarchive-dev libboost-filesystem-dev libcpp-httplib-dev
  libcli11-dev catch2 libssl-dev libexpected-dev nlohmann-json3-dev libtoml11-dev libpq-dev
  attr acl xxd curl systemd sqlite3 ccache
  iproute2 util-linux bc  # shaped links (tests/e2e/link_test.sh, bench/link.sh)
)
# Only for the benchmarks: the tools we measure ourselves against.
if [[ "${COFFRE_BENCH_DEPS:-0}" == 1 ]]; then
  packages+=(restic borgbackup time)
fi
# Only for the S3 vault store's tests and benchmarks: a real single-node Ceph
# RADOS Gateway on 127.0.0.1, started by scripts/rgw.sh (no manager daemon),
# HAProxy, which tests/e2e/vault_s3_test.sh puts in front of two nodes, and
# PostgreSQL, the state a fleet shares (scripts/postgres.sh starts one).
if [[ "${COFFRE_S3_DEPS:-0}" == 1 ]]; then
  packages+=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime haproxy postgresql)
fi
# Only for the fuzz targets (scripts/fuzz.sh, docs/fuzzing.md): clang 14,
# and the compiler-rt package of Debian 12 that holds its libFuzzer and
# sanitizer runtimes (libclang_rt.fuzzer-x86_64.a).
if [[ "${COFFRE_FUZZ_DEPS:-0}" == 1 ]]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
