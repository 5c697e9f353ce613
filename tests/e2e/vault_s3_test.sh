#!/bin/bash
# End-to-end: a coffre-vault whose storage is a real S3 server (the Ceph
# RADOS Gateway that scripts/rgw.sh starts; scripts/test.sh exports its
# COFFRE_S3_* variables). The fidelity tree backs up through one vault node
# and restores bit for bit through another that shares the bucket; the
# objects are in the bucket, none under the nodes' data folders; a node
# with a wrong secret or a missing bucket refuses to start with one line
# naming the cause. Prints SKIP without an S3 server (fails with
# COFFRE_REQUIRE_S3=1).
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
if [[ -z ${COFFRE_S3_ENDPOINT:-} ]]; then
  [[ ${COFFRE_REQUIRE_S3:-0} == 1 ]] && fail "COFFRE_REQUIRE_S3=1 but no COFFRE_S3_ENDPOINT"
  skip "no COFFRE_S3_ENDPOINT (scripts/rgw.sh env gives one)"
fi
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
REGION=${COFFRE_S3_REGION:-default}
BUCKET=vault-e2e-$$

# s3 METHOD PATH [CURL ARGS...]: a SigV4 request to the S3 server; prints
# the HTTP status, the body in $WORK/s3-body. curl signs the query as it is
# written: give it sorted and percent-encoded ("/" as %2F).
s3() {
  local method=$1 path=$2
  shift 2
  curl -s -o "$WORK/s3-body" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY" \
    -H "x-amz-content-sha256: $(sha256sum </dev/null | cut -d' ' -f1)" \
    "$@" "$COFFRE_S3_ENDPOINT$path"
}
# node NAME: a vault data folder whose [storage] is the bucket, with the
# credentials in a file as `scripts/rgw.sh env` prints them.
node() {
  local data=$WORK/$1
  "$COFFRE_VAULT_BIN" --data "$data" init >/dev/null 2>&1 || fail "init $1"
  printf 'COFFRE_S3_ACCESS_KEY=%s\nCOFFRE_S3_SECRET_KEY=%s\n' \
    "$COFFRE_S3_ACCESS_KEY" "$COFFRE_S3_SECRET_KEY" >"$data/s3.env"
  chmod 600 "$data/s3.env"
  # The [storage] table init wrote, filled in.
  sed -i 's/^\[storage\]$/[storage]\ntype = "s3"\nendpoint = "'"${COFFRE_S3_ENDPOINT//\//\\/}"'"\nregion = "'"$REGION"'"\nbucket = "'"$BUCKET"'"\nprefix = "fleet"\ncredentials_file = "s3.env"/' \
    "$data/vault.toml"
}

# The last command's stderr must be one line, the vault's error.
one_vault_error() {
  [[ $(wc -l <"$ERR") == 1 ]] && grep -q '^coffre-vault: error: ' "$ERR" ||
    fail "expected one 'coffre-vault: error:' line, got: $(cat "$ERR")"
}

step "setup: a bucket, two vault nodes on it, one tenant"
[[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
node a
node b
"$COFFRE_VAULT_BIN" --data "$WORK/a" tenant add acme
"$COFFRE_VAULT_BIN" --data "$WORK/a" token add --tenant acme --role admin >"$WORK/token"
# Tokens are per node until they live in shared state: b gets a's registry.
cp "$WORK/a/tenants.json" "$WORK/b/tenants.json"
"$COFFRE_VAULT_BIN" --data "$WORK/a" cert >"$WORK/ca-a.pem"
"$COFFRE_VAULT_BIN" --data "$WORK/b" cert >"$WORK/ca-b.pem"

step "back up the fidelity tree through node a"
start_vault "$WORK/a"
grep -q "^storage: $COFFRE_S3_ENDPOINT" "$WORK/serve.log" ||
  fail "node a does not say it stores in S3: $(cat "$WORK/serve.log")"
SRC=$WORK/source/tree
mkdir -p "$WORK/source"
bash "$E2E_DIR/make_fidelity_tree.sh" "$SRC"
random_file "$WORK/source/tree/big.bin" 12
URL_A=$BASE/acme/main
as() {
  local ca=$1
  shift
  coffre --token-file "$WORK/token" --cacert "$WORK/$ca" "$@"
}
expect_exit 0 as ca-a.pem init --repo "$URL_A"
expect_exit 0 as ca-a.pem backup --repo "$URL_A" "$SRC"
kill "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

step "the objects are in the bucket, not under the nodes' folders"
[[ $(s3 GET "/$BUCKET?list-type=2&prefix=fleet%2Frepos%2Facme%2Fmain%2F") == 200 ]] ||
  fail "cannot list the bucket: $(cat "$WORK/s3-body")"
grep -q "<Key>fleet/repos/acme/main/data/" "$WORK/s3-body" || fail "no pack in the bucket"
grep -q "<Key>fleet/repos/acme/main/config</Key>" "$WORK/s3-body" ||
  [[ $(s3 HEAD "/$BUCKET/fleet/repos/acme/main/config") == 200 ]] || fail "no config in the bucket"
[[ -z $(find "$WORK/a" "$WORK/b" -path '*/repos/*' -type f) ]] ||
  fail "objects were written to a node's folder: $(find "$WORK/a" "$WORK/b" -path '*/repos/*' -type f | head -3)"

step "restore through node b, which shares the bucket, bit for bit"
start_vault "$WORK/b"
URL_B=$BASE/acme/main
expect_exit 0 as ca-b.pem restore latest --repo "$URL_B" --target "$WORK/restored"
compare_trees "$SRC" "$WORK/restored$SRC"
expect_exit 0 as ca-b.pem check --repo "$URL_B" --read-data
kill "$VAULT_PID"
wait "$VAULT_PID" 2>/dev/null || true

step "a node with a wrong secret or a missing bucket refuses to start, saying why"
sed -i 's/^COFFRE_S3_SECRET_KEY=.*/COFFRE_S3_SECRET_KEY=wrong-secret/' "$WORK/b/s3.env"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/b" serve --listen 127.0.0.1:0
one_vault_error
grep -q "refused the credentials" "$ERR" || fail "wrong secret: $(cat "$ERR")"
grep -q "wrong-secret" "$ERR" && fail "the secret is in the message: $(cat "$ERR")"
sed -i "s/^COFFRE_S3_SECRET_KEY=.*/COFFRE_S3_SECRET_KEY=$COFFRE_S3_SECRET_KEY/" "$WORK/b/s3.env"
sed -i "s/^bucket = .*/bucket = \"no-such-bucket-$$\"/" "$WORK/b/vault.toml"
expect_exit --multiline 1 "$COFFRE_VAULT_BIN" --data "$WORK/b" serve --listen 127.0.0.1:0
one_vault_error
grep -q "no bucket 'no-such-bucket-$$'" "$ERR" || fail "missing bucket: $(cat "$ERR")"
