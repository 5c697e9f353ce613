#!/bin/bash
# A real coffre-vault refuses an upload from its headers alone: a PUT of
# 2 GiB or 512 MiB with no token, a wrong token, a size over max_object_size
# or over the tenant's remaining quota gets its 401, 413 or 507 within 1 s
# although not one byte of its body is sent, and the vault closes the
# connection rather than wait for (or read) the body. The same with
# "Expect: 100-continue": the refusal comes instead of "100 Continue", so
# such a client never sends its body; an upload it may make gets its
# "100 Continue". Then a valid upload on a fresh connection still works.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }

step "setup: a vault with a 1 GiB object limit and a tenant with a 1 MiB quota"
vault init >/dev/null 2>&1
sed -i '1i max_object_size = "1GiB"' "$DATA/vault.toml"  # top-level keys go before [storage]
vault tenant add tiny --quota 1MiB
vault token add --tenant tiny --role backup >"$WORK/tiny-backup"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
curl -s --cacert "$WORK/ca.pem" -o /dev/null -X POST -d '' \
  -H "Authorization: Bearer $(cat "$WORK/tiny-backup")" "$BASE/v1/repos/tiny/main"

# refused_at_once STATUS LENGTH AUTH_HEADER [expect]: sends the headers of a
# PUT of LENGTH bytes (with "Expect: 100-continue" if the 4th argument is
# given) and no body; the status line must come within 1 s and the
# connection must be closed by the vault within 1 s after it.
refused_at_once() {
  python3 - "$PORT" "$WORK/ca.pem" "$@" <<'PY'
import socket, ssl, sys, time
port, ca, want, length, auth = sys.argv[1:6]
expect = len(sys.argv) > 6
name = "a" * 64
ctx = ssl.create_default_context(cafile=ca)
raw = socket.create_connection(("127.0.0.1", int(port)))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
head = f"PUT /v1/repos/tiny/main/data/{name} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
if auth:
    head += f"Authorization: {auth}\r\n"
if expect:
    head += "Expect: 100-continue\r\n"
s.sendall((head + "\r\n").encode())
start = time.monotonic()
s.settimeout(1.0)
got = b""
try:
    while b"\r\n" not in got:
        piece = s.recv(4096)
        if not piece:
            break
        got += piece
except socket.timeout:
    sys.exit(f"no status line within 1 s (got {got[:80]!r})")
status_after = time.monotonic() - start
line = got.split(b"\r\n")[0].decode(errors="replace")
if line.split(" ")[1:2] != [want]:
    sys.exit(f"expected {want}, got {line!r}")
closed = False
try:
    while time.monotonic() - start < 2.0:
        piece = s.recv(4096)
        if not piece:
            closed = True
            break
        got += piece
except socket.timeout:
    pass
except (ConnectionResetError, ssl.SSLError):
    closed = True
if not closed:
    sys.exit(f"{want}: the vault kept the connection open, waiting for the body")
if b"connection: close" not in got.lower():
    sys.exit(f"{want}: no 'Connection: close' header in {got[:300]!r}")
print(f"    {line} after {status_after * 1000:.0f} ms, then closed")
PY
}

step "no token, a wrong token: 401 at once"
refused_at_once 401 $((2 << 30)) "" || fail "a 2 GiB PUT without a token"
refused_at_once 401 $((2 << 30)) "Bearer cvt_0000000000000000_$(printf '0%.0s' {1..64})" ||
  fail "a 2 GiB PUT with a wrong token"

step "over max_object_size: 413 at once"
refused_at_once 413 $((2 << 30)) "Bearer $(cat "$WORK/tiny-backup")" || fail "a 2 GiB PUT over 1 GiB"

step "over the tenant's quota: 507 at once"
refused_at_once 507 $((512 << 20)) "Bearer $(cat "$WORK/tiny-backup")" ||
  fail "a 512 MiB PUT over a 1 MiB quota"

step "with Expect: 100-continue, each refusal comes instead of 100 Continue"
wrong="Bearer cvt_0000000000000000_$(printf '0%.0s' {1..64})"
refused_at_once 401 $((2 << 30)) "$wrong" expect || fail "an expecting PUT with a wrong token"
refused_at_once 413 $((2 << 30)) "Bearer $(cat "$WORK/tiny-backup")" expect ||
  fail "an expecting PUT over 1 GiB"
refused_at_once 507 $((512 << 20)) "Bearer $(cat "$WORK/tiny-backup")" expect ||
  fail "an expecting PUT over the quota"
# curl sends Expect for a large body and waits for the answer: it sends
# nothing of a refused one, and all of an accepted one.
head -c $((2 << 20)) /dev/zero >"$WORK/zeros"
sent=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code} %{size_upload}' -X PUT \
  --expect100-timeout 30 -H "Expect: 100-continue" -H "Authorization: $wrong" \
  --data-binary @"$WORK/zeros" "$BASE/v1/repos/tiny/main/data/$(printf 'a%.0s' {1..64})")
[[ $sent == "401 0" ]] || fail "curl's expecting PUT with a wrong token: '$sent' (status, bytes sent)"
head -c 1000 /dev/urandom >"$WORK/small"
small=$(sha256sum "$WORK/small" | cut -c1-64)
sent=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code} %{size_upload}' -X PUT \
  --expect100-timeout 30 -H "Expect: 100-continue" -H "Authorization: Bearer $(cat "$WORK/tiny-backup")" \
  --data-binary @"$WORK/small" "$BASE/v1/repos/tiny/main/data/$small")
[[ $sent == "201 1000" ]] || fail "curl's expecting valid PUT: '$sent' (status, bytes sent)"
rm -f "$(find "$DATA/repos/tiny/main/data" -type f -name "$small")"

step "nothing of those uploads is stored, and a valid one still works"
[[ -z $(find "$DATA/repos/tiny/main/data" -type f) ]] || fail "a refused upload left a file"
head -c 1000 /dev/urandom >"$WORK/blob"
name=$(sha256sum "$WORK/blob" | cut -c1-64)
code=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code}' -X PUT \
  --data-binary @"$WORK/blob" -H "Authorization: Bearer $(cat "$WORK/tiny-backup")" \
  "$BASE/v1/repos/tiny/main/data/$name")
[[ $code == 201 ]] || fail "a valid upload got $code"
