#!/usr/bin/env bash
# Over a slow line (20 Mbit/s, 256 KB burst, 100 ms, tc tbf on the loopback
# of a network namespace this test makes): a first backup through the vault
# succeeds; an unchanged backup with a warm cache downloads at most 2 MB +
# 0.1% of the repository; with an empty cache it downloads only metadata
# (no more than what the warm cache holds); a restore comes back bit for bit
# and a one-file restore downloads about that file's chunks; --limit-download
# holds the rate it is given; and a line that breaks every connection after
# 1 MB still restores a 3 MB file, resuming each read where it broke instead
# of fetching it again. Needs root (prints SKIP otherwise).
set -euo pipefail
_here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/shaped_link.sh
source "$_here/../../scripts/lib/shaped_link.sh"
if [[ -z ${COFFRE_LINK_NAMESPACE:-} ]]; then
  if ! why=$(shaping_available); then
    echo "SKIP [link_test]: $why"
    exit 0
  fi
  COFFRE_LINK_NAMESPACE=1 exec unshare -n bash "$0" "$@"
fi
source "$_here/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
shape_loopback 20mbit 256kb 100ms
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }
vault init >/dev/null 2>&1
vault tenant add acme >/dev/null
vault token add --tenant acme --role admin >"$WORK/token"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
URL=$BASE/acme/srv
CACHE=$WORK/cache
remote() { coffre --json --repo "$URL" --token-file "$WORK/token" --cacert "$WORK/ca.pem" "$@"; }

# A small server tree: random data (one large file), text, many small files.
SRC=$WORK/src
mkdir -p "$SRC/etc" "$SRC/home/docs"
random_file "$SRC/home/archive.bin" 3
head -c 600000 /dev/urandom >"$SRC/home/docs/report.bin"
for i in $(seq 1 300); do
  printf 'setting_%d = %d\n%s\n' "$i" "$((i * 7))" "$(seq 1 $((i % 40)))" >"$SRC/etc/conf$i.txt"
done
seq 1 200000 >"$SRC/home/docs/numbers.txt"

rx() { json_eval 'j["transfer"]["received_bytes"]'; }
tx() { json_eval 'j["transfer"]["sent_bytes"]'; }
repo_bytes() { du_bytes "$DATA/repos/acme/srv"; }

first_backup() {
  expect_exit 0 remote init --cache-dir "$CACHE"
  expect_exit 0 remote --cache-dir "$CACHE" backup "$SRC"
  local sent stored
  sent=$(tx)
  stored=$(repo_bytes)
  echo "   sent $sent bytes; the repository holds $stored"
  ((sent >= stored * 9 / 10)) || fail "the first backup sent $sent bytes for a repository of $stored"
}
section "first backup over the link" first_backup

warm_unchanged() {
  expect_exit 0 remote --cache-dir "$CACHE" backup "$SRC"
  local got bound
  got=$(rx)
  bound=$((2000000 + $(repo_bytes) / 1000))
  echo "   received $got bytes in $(json_eval 'j["transfer"]["requests"]') requests (bound $bound)"
  ((got <= bound)) || fail "an unchanged backup with a warm cache downloaded $got bytes (bound $bound)"
}
section "an unchanged backup with a warm cache downloads almost nothing" warm_unchanged

cold_unchanged() {
  local cached got
  cached=$(du_bytes "$CACHE")
  expect_exit 0 remote --cache-dir "$WORK/cold-cache" backup "$SRC"
  got=$(rx)
  echo "   received $got bytes; the warm cache holds $cached; the repository $(repo_bytes)"
  # Metadata only: what the cache keeps (index, snapshots, trees, keys) and
  # nothing of the file data, which is most of this repository.
  ((got <= cached * 11 / 10 + 65536)) || fail "a cold-cache backup downloaded $got bytes, more than the metadata ($cached)"
  ((got < $(repo_bytes) / 4)) || fail "a cold-cache backup downloaded $got bytes of a $(repo_bytes)-byte repository"
}
section "an unchanged backup with an empty cache downloads only metadata" cold_unchanged

full_restore() {
  expect_exit 0 remote --cache-dir "$CACHE" restore latest --target "$WORK/restored"
  compare_trees "$SRC" "$WORK/restored$SRC"
  local got stored
  got=$(rx)
  stored=$(repo_bytes)
  echo "   received $got bytes; the repository holds $stored"
  # Each stored byte of file data once, not once per chunk or per worker.
  ((got <= stored * 11 / 10)) || fail "a full restore downloaded $got bytes of a $stored-byte repository"
}
section "a full restore over the link is exact and reads the data once" full_restore

one_file_restore() {
  local file=$SRC/home/docs/report.bin size got
  size=$(stat -c %s "$file")
  expect_exit 0 remote --cache-dir "$CACHE" restore latest "$file" --target "$WORK/one"
  cmp "$file" "$WORK/one$file" || fail "the restored file differs"
  got=$(rx)
  echo "   received $got bytes for a $size-byte file"
  ((got <= size + size / 10 + 262144)) || fail "restoring one $size-byte file downloaded $got bytes"
}
section "a one-file restore downloads about that file" one_file_restore

limited_download() {
  # 3.6 MB of random data at 1 MB/s: at least about 3 s, whatever the link.
  local start elapsed got
  start=$(date +%s%N)
  expect_exit 0 remote --no-cache --limit-download 1MB restore latest "$SRC/home" --target "$WORK/limited"
  elapsed=$((($(date +%s%N) - start) / 1000000))
  got=$(rx)
  echo "   received $got bytes in $elapsed ms at --limit-download 1MB"
  compare_trees "$SRC/home" "$WORK/limited$SRC/home"
  # The limiter starts with a second's worth in its bucket.
  ((elapsed * 1000 >= (got - 1000000) * 9 / 10)) || fail "--limit-download 1MB: $got bytes in $elapsed ms"
}
section "--limit-download holds its rate" limited_download

# Every connection through this proxy breaks after 1 MB from the vault.
# Started here, not in the section's subshell, so it is stopped at exit
# whatever the section does.
python3 "$E2E_DIR/cutting_proxy.py" "$WORK/proxy.port" "$PORT" 1000000 &
on_exit "kill $! 2>/dev/null"
broken_line_resumes() {
  # A 3 MB file only comes back if reads resume where they broke.
  local file=$SRC/home/archive.bin size got deadline=$((SECONDS + 10))
  until [[ -s $WORK/proxy.port ]]; do
    ((SECONDS < deadline)) || fail "the proxy did not start"
    sleep 0.05
  done
  size=$(stat -c %s "$file")
  expect_exit 0 coffre --json --repo "https://127.0.0.1:$(cat "$WORK/proxy.port")/acme/srv" \
    --token-file "$WORK/token" --cacert "$WORK/ca.pem" --no-cache restore latest "$file" \
    --target "$WORK/resumed"
  cmp "$file" "$WORK/resumed$file" || fail "the file restored over a breaking line differs"
  got=$(rx)
  echo "   received $got bytes for a $size-byte file over a line that breaks every 1 MB"
  ((got <= size + size / 5 + 262144)) || fail "$got bytes received: reads started over instead of resuming"
}
section "a read whose connection breaks resumes where it stopped" broken_line_resumes
