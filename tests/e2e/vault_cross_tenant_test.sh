#!/bin/bash
# Every route of a real coffre-vault, tried with another tenant's names:
# tenant acme's tokens of every role (and one limited to acme/main) against
# bolt's repository, bolt's objects and names that do not exist, with every
# method the API has. Each gets 403 with one and the same body (nothing
# says whether bolt's repository or object exists), and bolt's stored
# objects are byte for byte what they were: on the local filesystem, and
# on a real S3 server (Ceph RGW) when one is given (COFFRE_S3_ENDPOINT).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

# status TOKEN METHOD PATH [curl args]: the HTTP status; the body in $OUT.
status() {
  local token=$1 method=$2 path=$3
  shift 3
  local how=(-X "$method")
  [[ $method == HEAD ]] && how=(-I)
  curl -s --path-as-is --cacert "$WORK/ca.pem" -o "$OUT" -w '%{http_code}' "${how[@]}" \
    -H "Authorization: Bearer $token" "$@" "$BASE$path" || true
}

# try_all DATA STORED: every route on bolt's names with each of acme's tokens.
try_all() {
  local data=$1 stored=$2
  local v=("$COFFRE_VAULT_BIN" --data "$data")
  "${v[@]}" tenant add acme
  "${v[@]}" tenant add bolt
  local role
  for role in backup restore admin; do
    "${v[@]}" token add --tenant acme --role $role >"$WORK/acme-$role"
  done
  "${v[@]}" token add --tenant acme --role admin --repo main >"$WORK/acme-main"
  "${v[@]}" token add --tenant bolt --role admin >"$WORK/bolt-admin"
  "${v[@]}" cert >"$WORK/ca.pem"
  start_vault "$data"
  local bolt acme_tok obj
  bolt=$(cat "$WORK/bolt-admin")
  acme_tok=$(cat "$WORK/acme-admin")
  local hash lock
  hash=$(printf 'bolt data' | sha256sum | cut -c1-64)
  lock=$(printf 'bolt lock' | sha256sum | cut -c1-64)
  [[ $(status "$bolt" POST /v1/repos/bolt/main -d '') == 201 ]] || fail "create bolt/main"
  [[ $(status "$acme_tok" POST /v1/repos/acme/main -d '') == 201 ]] || fail "create acme/main"
  [[ $(status "$acme_tok" POST /v1/repos/acme/other -d '') == 201 ]] || fail "create acme/other"
  for obj in "data/$hash:bolt data" "snapshots/$hash:bolt data" "locks/$lock:bolt lock"; do
    [[ $(status "$bolt" PUT "/v1/repos/bolt/main/${obj%%:*}" --data-binary "${obj#*:}") == 201 ]] ||
      fail "put bolt's ${obj%%:*}: $(cat "$OUT")"
  done
  [[ $(status "$acme_tok" PUT "/v1/repos/acme/other/data/$hash" --data-binary 'bolt data') == 201 ]] ||
    fail "put acme/other's object"
  eval "$stored" >"$WORK/before"
  [[ -s $WORK/before ]] || fail "nothing stored to compare"

  local missing
  missing=$(printf 'nothing' | sha256sum | cut -c1-64)
  # Route, method and extra curl arguments, on the tenant and repository
  # given by the caller ("bolt main" for each of acme's tokens, "acme other"
  # for the token limited to acme/main).
  local routes=(
    "POST /v1/repos/T/R -d ''"
    "POST /v1/repos/T/new -d ''"
    "GET /v1/repos/T/R"
    "GET /v1/repos/T/none"
    "GET /v1/repos/T/R/data/?limit=10"
    "GET /v1/repos/T/R/snapshots/?limit=10&after=$missing"
    "GET /v1/repos/T/none/data/?limit=10"
    "GET /v1/repos/T/R/data/$hash"
    "GET /v1/repos/T/R/data/$missing"
    "GET /v1/repos/T/R/config/config"
    "HEAD /v1/repos/T/R/data/$hash"
    "HEAD /v1/repos/T/none/data/$hash"
    "PUT /v1/repos/T/R/data/$(printf 'x' | sha256sum | cut -c1-64) --data-binary x"
    "PUT /v1/repos/T/R/data/$hash --data-binary 'bolt data'"
    "PUT /v1/repos/T/R/config/config --data-binary cfg"
    "PUT /v1/repos/T/none/data/$hash --data-binary 'bolt data'"
    "DELETE /v1/repos/T/R/data/$hash"
    "DELETE /v1/repos/T/R/snapshots/$hash"
    "DELETE /v1/repos/T/R/locks/$lock"
    "DELETE /v1/repos/T/R/data/$missing"
    "DELETE /v1/repos/T/none/locks/$lock"
  )
  local first="" tried=0 who route tenant repo path method args
  for who in backup:bolt:main restore:bolt:main admin:bolt:main main:acme:other; do
    IFS=: read -r role tenant repo <<<"$who"
    local token
    token=$(cat "$WORK/acme-$role")
    for route in "${routes[@]}"; do
      method=${route%% *}
      path=${route#* }
      args=${path#* }
      [[ $args == "$path" ]] && args=""
      path=${path%% *}
      path=${path//\/T\//\/$tenant\/}
      path=${path/\/$tenant\/R/\/$tenant\/$repo}
      local code
      eval "code=\$(status \"\$token\" $method \"\$path\" $args)"
      ((++tried))
      [[ $code == 403 ]] || fail "acme's $role token: $method $path answered $code: $(cat "$OUT")"
      # HEAD has no body to compare.
      [[ $method == HEAD ]] && continue
      if [[ -z $first ]]; then
        first=$(cat "$OUT")
      elif [[ $(cat "$OUT") != "$first" ]]; then
        fail "acme's $role token: $method $path refused with another body: $(cat "$OUT")"
      fi
    done
  done
  echo "    $tried requests refused with 403, one body: $first"
  eval "$stored" >"$WORK/after"
  diff "$WORK/before" "$WORK/after" || fail "another tenant's requests changed what is stored"
  # bolt still reads its own, and acme still its own.
  [[ $(status "$bolt" GET "/v1/repos/bolt/main/data/$hash") == 200 && $(cat "$OUT") == "bolt data" ]] ||
    fail "bolt cannot read its object any more"
  [[ $(status "$acme_tok" GET "/v1/repos/acme/other/data/$hash") == 200 ]] ||
    fail "acme cannot read its own object"
  kill "$VAULT_PID"
  wait "$VAULT_PID" 2>/dev/null || true
}

step "local storage: every route with another tenant's names is refused, nothing changes"
vault_dir=$WORK/local
"$COFFRE_VAULT_BIN" --data "$vault_dir" init >/dev/null 2>&1
# Every stored file under repos/, with its content's hash.
try_all "$vault_dir" "(cd '$vault_dir/repos' && find . -type f -exec sha256sum {} + | sort -k2)"

if [[ -n ${COFFRE_S3_ENDPOINT:-} ]]; then
  step "S3 storage (Ceph RGW): the same, and the bucket is unchanged"
  require_s3
  BUCKET=cross-tenant-$$
  [[ $(s3 PUT "/$BUCKET") == 200 ]] || fail "cannot create bucket $BUCKET: $(cat "$WORK/s3-body")"
  s3_node s3vault "$BUCKET"
  # Every key of the bucket with its ETag (the MD5 of its bytes).
  try_all "$WORK/s3vault" \
    "s3 GET '/$BUCKET?list-type=2' >/dev/null && grep -o '<Key>[^<]*</Key><LastModified>[^<]*</LastModified><ETag>[^<]*</ETag>' '$WORK/s3-body' | sort"
elif [[ ${COFFRE_REQUIRE_S3:-0} == 1 ]]; then
  fail "COFFRE_REQUIRE_S3=1 but no COFFRE_S3_ENDPOINT"
else
  echo "   no COFFRE_S3_ENDPOINT: the S3 half is skipped"
fi
echo "PASS"
