#!/bin/bash
# A real coffre-vault answers every malformed request path (dot segments,
# percent-encoded dots and slashes, doubled slashes, upper case, bad hex
# names, query strings) with 400 Bad Request, whatever the method and even
# with a valid token, and no file under the data folder is created, changed
# or removed by any of them. Sent with curl --path-as-is, so curl does not
# clean the path first.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }

step "setup: a vault with two tenants, each with a repository and an object"
vault init >/dev/null 2>&1
vault tenant add acme
vault tenant add other
vault token add --tenant acme --role admin >"$WORK/acme-admin"
vault token add --tenant other --role admin >"$WORK/other-admin"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
status() {  # status TOKEN_FILE METHOD PATH [curl args]: prints the HTTP status
  local token=$1 method=$2 path=$3
  shift 3
  # -X HEAD would wait for the body that Content-Length announces; -I does not.
  local how=(-X "$method")
  [[ $method == HEAD ]] && how=(-I)
  curl -s --path-as-is --cacert "$WORK/ca.pem" -o "$OUT" -w '%{http_code}' "${how[@]}" \
    -H "Authorization: Bearer $(cat "$WORK/$token")" "$@" "$BASE$path" || true
}
HASH=$(printf 'x' | sha256sum | cut -c1-64)
for t in acme other; do
  [[ $(status $t-admin POST /v1/repos/$t/main -d '') == 201 ]] || fail "create $t/main"
  [[ $(status $t-admin PUT /v1/repos/$t/main/data/$HASH --data-binary x) == 201 ]] ||
    fail "put into $t/main"
done
snapshot_tree() { (cd "$DATA" && find . -path ./serve.log -prune -o -printf '%p %s %T@\n' | sort); }
snapshot_tree >"$WORK/before"

step "every malformed path gets 400, with any method"
UPPER=$(tr a-f A-F <<<"$HASH")
paths=(
  "/v1/repos/acme/main/../../other/main/data/$HASH"
  "/v1/repos/acme/main/data/../../../other/main/data/$HASH"
  "/v1/repos/acme/../other/main/data/$HASH"
  "/v1/repos/acme/./main/data/$HASH"
  "/v1/repos/%2e%2e/other/main/data/$HASH"
  "/v1/repos/acme/%2e%2e/other/data/$HASH"
  "/v1/repos/acme%2fother/main/data/$HASH"
  "/v1/repos/acme/main/data%2f..%2f..%2fother/$HASH"
  "/v1/repos/acme/main/data/%2e%2e%2f%2e%2e%2f%2e%2e%2fother%2fmain%2fdata%2f$HASH"
  "/v1/repos/acme/main/data/%61${HASH:1}"
  "//v1/repos/acme/main/data/$HASH"
  "/v1//repos/acme/main/data/$HASH"
  "/v1/repos//acme/main/data/$HASH"
  "/v1/repos/acme/main//data/$HASH"
  "/v1/repos/acme/main/data//$HASH"
  "/v1/repos/acme/main/data/$HASH/"
  "/v1/repos/ACME/main/data/$HASH"
  "/v1/repos/acme/main/DATA/$HASH"
  "/v1/repos/acme/main/data/$UPPER"
  "/v1/repos/acme/main/data/${HASH:1}"
  "/v1/repos/acme/main/data/${HASH}0"
  "/v1/repos/acme/main/data/${HASH:1}g"
  "/v1/repos/acme/main/data/config"
  "/v1/repos/acme/main/nokind/$HASH"
  "/v1/repos/acme/main/data/$HASH?x=1"
  "/v1/repos/acme/main/data/..\\..\\$HASH"
  "/v1/repos/acme"
  "/v1/health/../repos/acme/main/data/$HASH"
)
for path in "${paths[@]}"; do
  for method in GET DELETE HEAD; do
    got=$(status acme-admin $method "$path")
    [[ $got == 400 ]] || fail "$method $path: expected 400, got $got ($(head -c 200 "$OUT"))"
  done
  got=$(status acme-admin PUT "$path" --data-binary x)
  [[ $got == 400 ]] || fail "PUT $path: expected 400, got $got ($(head -c 200 "$OUT"))"
  got=$(status acme-admin POST "$path" -d '')
  [[ $got == 400 ]] || fail "POST $path: expected 400, got $got ($(head -c 200 "$OUT"))"
done
grep -q "bad request path" "$OUT" || fail "the 400 body does not say why: $(cat "$OUT")"

step "no file was created, changed or removed, and the vault still serves"
snapshot_tree >"$WORK/after"
diff "$WORK/before" "$WORK/after" || fail "a malformed request touched the data folder"
[[ $(status acme-admin GET /v1/repos/acme/main/data/$HASH) == 200 ]] || fail "a valid GET failed"
[[ $(status acme-admin GET /v1/health) == 200 ]] || fail "health failed"
