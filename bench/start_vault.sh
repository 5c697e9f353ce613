# Sourced by bench/vault.sh and bench/link.sh: a fresh vault for a benchmark.
#
# start_bench_vault VAULT_BIN DATA WORK [STORAGE_TOML]: initialises a vault
#   in DATA with a tenant "bench", writes an admin token to WORK/token and
#   the vault's certificate to WORK/ca.pem, serves it on 127.0.0.1 (its log
#   in WORK/logs/serve.log), waits until it listens, and sets vault_pid and
#   base (https://127.0.0.1:PORT). STORAGE_TOML, if given, replaces the
#   [storage] table of its vault.toml (an S3 bucket, say). Every vault
#   started is killed when the script exits.
bench_vault_pids=()
start_bench_vault() {
  local bin=$1 data=$2 work=$3 storage=${4:-}
  "$bin" --data "$data" init >/dev/null 2>&1
  if [[ -n $storage ]]; then
    python3 - "$data/vault.toml" "$storage" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
open(path, "w").write(text.replace("[storage]\n", table.rstrip("\n") + "\n", 1))
PY
  fi
  "$bin" --data "$data" tenant add bench
  "$bin" --data "$data" token add --tenant bench --role admin >"$work/token"
  "$bin" --data "$data" cert >"$work/ca.pem"
  "$bin" --data "$data" serve --listen 127.0.0.1:0 2>"$work/logs/serve.log" &
  vault_pid=$!
  bench_vault_pids+=("$vault_pid")
  trap 'kill "${bench_vault_pids[@]}" 2>/dev/null' EXIT
  until grep -q '^listening on ' "$work/logs/serve.log"; do
    kill -0 $vault_pid 2>/dev/null || { cat "$work/logs/serve.log" >&2; exit 1; }
    sleep 0.05
  done
  base=$(sed -n 's/^listening on //p' "$work/logs/serve.log")
}
