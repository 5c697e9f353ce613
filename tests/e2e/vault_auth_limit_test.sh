#!/bin/bash
# A real coffre-vault limits failed authentications: from one address, past
# auth_failures_per_address, every request gets 429 with Retry-After before
# its token is checked (a valid one too, until the allowance refills); on
# one tenant's paths, past auth_failures_per_tenant, a failing address is
# refused there but still served on another tenant's paths; /metrics counts
# the refusals as auth_limited. Burst of 2000 wrong tokens: at most the
# allowance is ever checked.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }
vault init >/dev/null 2>&1
vault tenant add acme
vault tenant add bolt
vault token add --tenant acme --role admin >"$WORK/acme"
vault token add --tenant bolt --role admin >"$WORK/bolt"
vault cert >"$WORK/ca.pem"
WRONG=cvt_0123456789abcdef_$(printf '0%.0s' {1..64})

# code TOKEN PATH: the HTTP status; the headers go to $WORK/headers.
code() {
  curl -s --cacert "$WORK/ca.pem" -o /dev/null -D "$WORK/headers" -w '%{http_code}' \
    -H "Authorization: Bearer $1" "$BASE$2" || true
}
metric() {
  curl -s --cacert "$WORK/ca.pem" "$BASE/metrics" |
    sed -n "s/^coffre_vault_errors_total{kind=\"$1\"} //p"
}

step "per address: 5 failures are checked, the next requests get 429 with Retry-After"
# Top-level keys go before the file's first [section].
{ printf 'auth_failures_per_address = 5\nauth_failures_per_tenant = 0\nauth_failure_window = "4s"\n'
  cat "$DATA/vault.toml"; } >"$WORK/vault.toml" && mv "$WORK/vault.toml" "$DATA/vault.toml"
start_vault "$DATA"
[[ $(code "$(cat "$WORK/acme")" /v1/repos/acme/main) == 404 ]] || fail "a valid token is not served"
for i in 1 2 3 4 5; do
  [[ $(code "$WRONG" /v1/repos/acme/main) == 401 ]] || fail "failure $i was not a 401"
done
[[ $(code "$WRONG" /v1/repos/acme/main) == 429 ]] || fail "the 6th failure was not refused"
retry=$(tr -d '\r' <"$WORK/headers" | sed -n 's/^Retry-After: //Ip')
[[ $retry =~ ^[0-9]+$ ]] && ((retry >= 1 && retry <= 4)) || fail "Retry-After is '$retry'"
# While limited, the token is not even checked: a valid one waits as well.
[[ $(code "$(cat "$WORK/acme")" /v1/repos/acme/main) == 429 ]] ||
  fail "a limited address had its token checked"

step "2000 wrong tokens in a burst: none beyond the allowance reaches a token check"
statuses=$(for i in $(seq 2000); do
  printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/v1/repos/acme/main"
done | curl -s --no-progress-meter --cacert "$WORK/ca.pem" -H "Authorization: Bearer $WRONG" \
  -w '%{http_code}\n' --parallel --parallel-max 16 -K - | sort | uniq -c)
echo "$statuses" | sed 's/^/    /'
checked=$(awk '$2 == 401 {print $1}' <<<"$statuses")
limited=$(awk '$2 == 429 {print $1}' <<<"$statuses")
# The burst takes a few seconds, in which the allowance refills a little.
((${checked:-0} <= 20)) || fail "$checked of 2000 wrong tokens were checked"
((${limited:-0} + ${checked:-0} == 2000)) || fail "unexpected statuses: $statuses"
(($(metric auth_limited) >= limited)) || fail "/metrics counts $(metric auth_limited) refusals"

step "the allowance refills: after Retry-After, a valid token is served again"
sleep "$(tr -d '\r' <"$WORK/headers" | sed -n 's/^Retry-After: //Ip')"
sleep 1
[[ $(code "$(cat "$WORK/acme")" /v1/repos/acme/main) == 404 ]] ||
  fail "a valid token is still refused after the window"
kill "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

step "per tenant: a failing address is refused on that tenant's paths only"
sed -i 's/^auth_failures_per_address = 5/auth_failures_per_address = 0/;
        s/^auth_failures_per_tenant = 0/auth_failures_per_tenant = 3/' "$DATA/vault.toml"
start_vault "$DATA"
for i in 1 2 3; do
  [[ $(code "$WRONG" /v1/repos/acme/main) == 401 ]] || fail "failure $i on acme was not a 401"
done
[[ $(code "$WRONG" /v1/repos/acme/main) == 429 ]] || fail "acme's 4th failure was not refused"
[[ $(code "$(cat "$WORK/bolt")" /v1/repos/bolt/main) == 404 ]] ||
  fail "the same address is refused on another tenant's paths"
[[ $(code "$WRONG" /v1/repos/bolt/main) == 401 ]] || fail "bolt's first failure was not checked"
(($(metric auth_limited) >= 1)) || fail "/metrics does not count the tenant's refusal"
echo "PASS"
