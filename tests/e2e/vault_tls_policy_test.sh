#!/bin/bash
# A real coffre-vault speaks only TLS 1.2 and 1.3, and on TLS 1.2 only
# forward-secret AEAD suites: openssl s_client with TLS 1.1, with a CBC
# suite (AES128-SHA, ECDHE-ECDSA-AES128-SHA) or with RSA key exchange
# (AES128-GCM-SHA256) fails its handshake, while ECDHE with AES-GCM or
# ChaCha20-Poly1305 and TLS 1.3 succeed. A new certificate and key moved
# over the old ones are served to new connections without a restart.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
command -v openssl >/dev/null || fail "openssl is needed"
DATA=$WORK/vault
"$COFFRE_VAULT_BIN" --data "$DATA" init >/dev/null 2>&1
start_vault "$DATA"

# handshake ARGS...: true if s_client completes a handshake with ARGS (its
# "New, TLSv1.x, Cipher is X" line; the SSL-Session block is not printed
# for TLS 1.3 when no session ticket arrives before s_client quits, and the
# vault sends none).
# @SECLEVEL=0 lets the client offer what the vault must refuse itself.
handshake() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" \
    </dev/null >"$OUT" 2>&1 && grep -Eq '^(New|Reused), TLSv1\.[0-3], Cipher is [A-Z]' "$OUT"
}

step "TLS 1.0 and 1.1 are refused"
for v in -tls1 -tls1_1; do
  ! handshake "$v" -cipher 'DEFAULT:@SECLEVEL=0' || fail "a $v handshake succeeded"
done

step "TLS 1.2 without forward secrecy or without an AEAD is refused"
for suite in AES128-SHA AES256-SHA AES128-GCM-SHA256 AES256-SHA256 ECDHE-ECDSA-AES128-SHA \
  ECDHE-ECDSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA256; do
  ! handshake -tls1_2 -cipher "$suite:@SECLEVEL=0" || fail "TLS 1.2 with $suite succeeded"
done

step "TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305, and TLS 1.3, are accepted"
for suite in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
  ECDHE-ECDSA-CHACHA20-POLY1305; do
  handshake -tls1_2 -cipher "$suite" || fail "TLS 1.2 with $suite refused: $(tail -5 "$OUT")"
  grep -q "Cipher *: *$suite" "$OUT" || fail "TLS 1.2 did not use $suite"
done
handshake -tls1_3 || fail "TLS 1.3 refused: $(tail -5 "$OUT")"
grep -q "TLSv1.3" "$OUT" || fail "not TLS 1.3"

# The SHA-256 fingerprint of the certificate the vault serves now.
served() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null \
    2>/dev/null | openssl x509 -noout -fingerprint -sha256
}
step "a certificate moved over the old one is served without a restart"
old=$(served)
[[ $old == "$(openssl x509 -noout -fingerprint -sha256 <"$DATA/tls/cert.pem")" ]] ||
  fail "the vault does not serve tls/cert.pem"
"$COFFRE_VAULT_BIN" --data "$WORK/other" init --name other.example.fr >/dev/null 2>&1
new=$(openssl x509 -noout -fingerprint -sha256 <"$WORK/other/tls/cert.pem")
[[ $new != "$old" ]] || fail "the second certificate is the first"
cp "$WORK/other/tls/key.pem" "$DATA/tls/key.pem.new"
cp "$WORK/other/tls/cert.pem" "$DATA/tls/cert.pem.new"
mv "$DATA/tls/key.pem.new" "$DATA/tls/key.pem"
mv "$DATA/tls/cert.pem.new" "$DATA/tls/cert.pem"
deadline=$((SECONDS + 5))
until [[ $(served) == "$new" ]]; do
  ((SECONDS < deadline)) || fail "the new certificate is not served 5 s after the swap"
  sleep 0.3
done
kill -0 "$VAULT_PID" || fail "the vault exited"
grep -q "$(cat "$WORK/vault.pid")" "$WORK/vault.pid"
curl -s --cacert "$WORK/other/tls/cert.pem" "$BASE/v1/health" | grep -q ok ||
  fail "health over the new certificate failed"
