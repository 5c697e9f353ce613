#!/bin/bash
# 500 idle or slow connections do not stop a real coffre-vault: with 200
# silent TCP connections, 100 TLS handshakes never finished, 100 uploads
# sending 1 byte/s and 100 slowloris clients sending a header line every
# 3 s all open, a fresh GET /v1/health answers within 1 s, every time. And
# each of them is cut by the deadline of its phase (handshake, header,
# body) from vault.toml, not kept alive by its trickle, and counted in
# /metrics. (cpp-httplib's own loop stopped answering at 32 idle ones.)
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }

step "setup: a vault with short deadlines"
vault init >/dev/null 2>&1
# Top-level keys go before [storage].
sed -i '1i handshake_timeout = "8s"\nheader_timeout = "4s"\nbody_timeout = "5s"' "$DATA/vault.toml"
vault tenant add acme
vault token add --tenant acme --role backup >"$WORK/acme-backup"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
curl -s --cacert "$WORK/ca.pem" -o /dev/null -X POST -d '' \
  -H "Authorization: Bearer $(cat "$WORK/acme-backup")" "$BASE/v1/repos/acme/main"

step "500 idle and slow connections open, health answers within 1 s"
python3 "$E2E_DIR/slow_clients.py" "$PORT" "$WORK/ca.pem" "$(cat "$WORK/acme-backup")" 20 \
  >"$OUT" || fail "the client failed: $(cat "$OUT")"
echo "    $(cat "$OUT")"
(($(json_eval 'j["open_at_health"]') >= 450)) ||
  fail "fewer than 450 connections were still open when health was timed"
[[ $(json_eval 'all(ms < 1000 for ms in j["health_ms"])') == true ]] ||
  fail "a health request took 1 s or more: $(json_eval 'j["health_ms"]')"

step "each slow connection was cut within its phase's deadline"
for kind in idle half body header; do
  [[ $(json_eval "j['kinds']['$kind']['cut'] == j['kinds']['$kind']['count']") == true ]] ||
    fail "not every $kind connection was cut: $(json_eval "j['kinds']['$kind']")"
done
# Deadlines plus the time to open the others (a few seconds on a loaded machine).
[[ $(json_eval "j['kinds']['header']['longest_s'] < 4 + 2") == true ]] ||
  fail "a slowloris connection outlived header_timeout: $(json_eval "j['kinds']['header']")"
[[ $(json_eval "j['kinds']['body']['longest_s'] < 5 + 2") == true ]] ||
  fail "a 1 byte/s body outlived body_timeout: $(json_eval "j['kinds']['body']")"
[[ $(json_eval "j['kinds']['half']['longest_s'] < 8 + 4") == true ]] ||
  fail "an unfinished handshake outlived handshake_timeout: $(json_eval "j['kinds']['half']")"

step "the cuts are counted in /metrics by reason"
curl -s --cacert "$WORK/ca.pem" "$BASE/metrics" >"$OUT"
for reason in handshake_timeout header_timeout body_timeout; do
  n=$(sed -n "s/^coffre_vault_connections_cut_total{reason=\"$reason\"} //p" "$OUT")
  ((${n:-0} >= 100)) || fail "$reason counted ${n:-0} times, expected at least 100"
done
[[ -z $(find "$DATA/repos/acme/main/data" -type f) ]] || fail "a cut upload left an object"
