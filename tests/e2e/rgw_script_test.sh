#!/bin/bash
# End-to-end: scripts/rgw.sh starts a real S3 server. A cluster on free
# ports answers SigV4 requests signed by curl: a bucket is created, an
# object comes back byte for byte and by range, a PUT with If-None-Match: *
# over an existing key gets 412, and a wrong secret or payload hash is
# refused. A second start in the same BASE_DIR is refused with one error
# line; a second cluster (memstore) runs beside the first on other ports and
# holds its own buckets; the daemons listen on 127.0.0.1 only; after stop no
# process of that BASE_DIR remains, and a restarted BlueStore cluster still
# serves the object. Prints the time to ready, the daemons' RSS and the time
# to stop. Needs the Ceph packages (COFFRE_S3_DEPS=1 scripts/install-deps.sh);
# prints SKIP without them.
source "$(dirname "$0")/lib.sh"

RGW=$(cd "$E2E_DIR/../../scripts" && pwd)/rgw.sh
command -v radosgw >/dev/null || skip "radosgw is not installed (COFFRE_S3_DEPS=1 scripts/install-deps.sh)"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

# Four free ports on 127.0.0.1 (S3 and monitor, for two clusters).
source "$E2E_DIR/../../scripts/lib/free_ports.sh"
read -r PORT MON_PORT PORT_B MON_PORT_B < <(free_ports 4)
BASE=$(realpath -m "$WORK/rgw")
BASE_B=$(realpath -m "$WORK/rgw-memstore")
on_exit '"$RGW" stop "$BASE" >/dev/null 2>&1'
on_exit '"$RGW" stop "$BASE_B" >/dev/null 2>&1'

# rgw ARGS...: the script under test, output in $OUT and $ERR, exit in $RC.
rgw() {
  RC=0
  "$RGW" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
expect_rgw() {
  local want=$1
  shift
  rgw "$@"
  ((RC == want)) || fail "expected exit $want, got $RC from rgw.sh $*:
$(head -n 20 "$ERR")"
}

# s3 SECRET METHOD PATH [CURL ARGS...]: a SigV4 request to the cluster whose
# env is loaded, signed with SECRET; prints the HTTP status, body in
# $WORK/body. libcurl does not add x-amz-content-sha256: callers with a body
# send its hash, the others the empty body's.
empty_sha=$(sha256sum </dev/null | cut -d' ' -f1)
s3() {
  local secret=$1 method=$2 path=$3
  shift 3
  curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:$COFFRE_S3_REGION:s3" --user "$COFFRE_S3_ACCESS_KEY:$secret" \
    "$@" "$COFFRE_S3_ENDPOINT$path"
}
# expect_s3 CODE METHOD PATH [CURL ARGS...]: s3 with the right secret.
expect_s3() {
  local want=$1 code
  shift
  code=$(s3 "$COFFRE_S3_SECRET_KEY" "$@")
  [[ $code == "$want" ]] || fail "$1 $2: expected HTTP $want, got $code: $(head -c 500 "$WORK/body")"
}
NO_BODY=(-H "x-amz-content-sha256: $empty_sha")
load_env() { set -a; source <("$RGW" env "$1"); set +a; }

daemon_rss() {
  local name pid line=""
  for name in mon.a osd.0 client.rgw.a; do
    pid=$(<"$1/run/$name.pid")
    line+=" $name $(($(ps -o rss= -p "$pid") / 1024)) MB,"
  done
  echo "${line%,}"
}

# Processes (not zombies) started with this BASE_DIR's ceph.conf.
cluster_processes() {
  local dir
  for dir in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$dir/cmdline" | grep -qF -- "-c $1/ceph.conf " || continue
    grep -q '^State:.*Z' "$dir/status" 2>/dev/null && continue
    echo "${dir#/proc/}"
  done
}

step "start a BlueStore cluster on 127.0.0.1:$PORT (monitor $MON_PORT)"
expect_rgw 0 start "$BASE" --port "$PORT" --mon-port "$MON_PORT"
echo "   $(head -n 1 "$OUT")"
grep -q "^  stop: .* stop $BASE\$" "$OUT" || fail "start should print how to stop: $(cat "$OUT")"
[[ $(stat -c %a "$BASE/s3.env") == 600 ]] || fail "s3.env has mode $(stat -c %a "$BASE/s3.env"), not 600"
expect_rgw 0 env "$BASE"
grep -qx "COFFRE_S3_ENDPOINT=http://127.0.0.1:$PORT" "$OUT" || fail "env: $(cat "$OUT")"
for var in COFFRE_S3_REGION COFFRE_S3_ACCESS_KEY COFFRE_S3_SECRET_KEY; do
  grep -q "^$var=." "$OUT" || fail "env prints no $var: $(cat "$OUT")"
done
load_env "$BASE"

step "a second start in the same BASE_DIR is refused with one error line"
expect_rgw 1 start "$BASE"
if [[ $(awk 'END { print NR }' "$ERR") != 1 ]] || ! grep -q '^rgw.sh: error: a cluster already runs' "$ERR"; then
  fail "expected one line 'rgw.sh: error: a cluster already runs ...', got: $(cat "$ERR")"
fi

step "create a bucket, PUT an object, GET it back byte for byte"
random_file "$WORK/object" 3
head -c 12345 /dev/urandom >>"$WORK/object"
object_sha=$(sha256sum "$WORK/object" | cut -d' ' -f1)
expect_s3 200 PUT /coffre-e2e "${NO_BODY[@]}"
expect_s3 200 PUT /coffre-e2e/packs/first -T "$WORK/object" -H "x-amz-content-sha256: $object_sha"
expect_s3 200 GET /coffre-e2e/packs/first "${NO_BODY[@]}"
cmp -s "$WORK/body" "$WORK/object" || fail "the object came back different ($(stat -c %s "$WORK/body") bytes)"

step "a ranged GET returns exactly that range"
expect_s3 206 GET /coffre-e2e/packs/first "${NO_BODY[@]}" -H "Range: bytes=1048570-1049599"
cmp -s "$WORK/body" <(tail -c +1048571 "$WORK/object" | head -c 1030) ||
  fail "bytes 1048570-1049599 differ ($(stat -c %s "$WORK/body") bytes came)"

step "PUT with If-None-Match: * is 412 over an existing key, 200 on a new one"
head -c 1000 /dev/urandom >"$WORK/other"
other_sha=$(sha256sum "$WORK/other" | cut -d' ' -f1)
expect_s3 412 PUT /coffre-e2e/packs/first -T "$WORK/other" \
  -H "x-amz-content-sha256: $other_sha" -H "If-None-Match: *"
expect_s3 200 GET /coffre-e2e/packs/first "${NO_BODY[@]}"
cmp -s "$WORK/body" "$WORK/object" || fail "the refused PUT changed the object"
expect_s3 200 PUT /coffre-e2e/packs/second -T "$WORK/other" \
  -H "x-amz-content-sha256: $other_sha" -H "If-None-Match: *"

step "a wrong secret gets 403, a wrong payload hash 400"
wrong_secret=$(tr 'A-Za-z' 'N-ZA-Mn-za-m' <<<"$COFFRE_S3_SECRET_KEY")
code=$(s3 "$wrong_secret" GET /coffre-e2e/packs/first "${NO_BODY[@]}")
[[ $code == 403 ]] || fail "a wrong secret got HTTP $code, not 403"
grep -q SignatureDoesNotMatch "$WORK/body" || fail "403 body: $(head -c 300 "$WORK/body")"
expect_s3 400 PUT /coffre-e2e/packs/third -T "$WORK/other" -H "x-amz-content-sha256: $object_sha"
expect_s3 404 GET /coffre-e2e/packs/third "${NO_BODY[@]}"

step "the daemons listen on 127.0.0.1 only"
pids=$(cat "$BASE"/run/*.pid | paste -sd'|')
ss -ltnpH | grep -E "pid=($pids)," >"$WORK/listening" || fail "no listening socket for pids $pids"
if grep -vE '^LISTEN +[0-9]+ +[0-9]+ +127\.0\.0\.1:' "$WORK/listening"; then
  fail "a daemon listens beyond 127.0.0.1 (above)"
fi
echo "   RSS after the PUTs:$(daemon_rss "$BASE")"

step "a memstore cluster runs beside it on 127.0.0.1:$PORT_B, with its own buckets"
expect_rgw 0 start "$BASE_B" --port "$PORT_B" --mon-port "$MON_PORT_B" --memstore
echo "   $(head -n 1 "$OUT")"
echo "   RSS:$(daemon_rss "$BASE_B")"
load_env "$BASE_B"
[[ $COFFRE_S3_ENDPOINT == "http://127.0.0.1:$PORT_B" ]] || fail "second endpoint is $COFFRE_S3_ENDPOINT"
expect_s3 200 PUT /coffre-e2e-memstore "${NO_BODY[@]}"
expect_s3 200 GET / "${NO_BODY[@]}"
if ! grep -q coffre-e2e-memstore "$WORK/body" || grep -q '<Name>coffre-e2e</Name>' "$WORK/body"; then
  fail "the memstore cluster should list only its own bucket: $(head -c 500 "$WORK/body")"
fi
expect_rgw 0 stop "$BASE_B"
[[ -z $(cluster_processes "$BASE_B") ]] || fail "processes of $BASE_B remain: $(cluster_processes "$BASE_B")"
load_env "$BASE"

step "stop ends every daemon of the BASE_DIR; a second stop is a no-op"
expect_rgw 0 stop "$BASE"
echo "   $(cat "$OUT")"
remaining=$(cluster_processes "$BASE")
[[ -z $remaining ]] || fail "processes of $BASE remain: $(ps -o pid,cmd -p "${remaining//$'\n'/,}")"
http_code=$(curl -s -o /dev/null -w '%{http_code}' "$COFFRE_S3_ENDPOINT/" || true)
[[ $http_code == 000 ]] || fail "the gateway still answers (HTTP $http_code) after stop"
expect_rgw 0 stop "$BASE"
grep -q "nothing runs" "$OUT" || fail "a second stop should say nothing runs: $(cat "$OUT")"

step "a restarted BlueStore cluster still serves the object, with the same keys"
keys_before="$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY"
expect_rgw 0 start "$BASE"
echo "   $(head -n 1 "$OUT")"
load_env "$BASE"
[[ "$COFFRE_S3_ACCESS_KEY:$COFFRE_S3_SECRET_KEY" == "$keys_before" ]] || fail "the keys changed across a restart"
expect_s3 200 GET /coffre-e2e/packs/first "${NO_BODY[@]}"
cmp -s "$WORK/body" "$WORK/object" || fail "the object changed across a restart"
expect_rgw 0 stop "$BASE"
[[ -z $(cluster_processes "$BASE") ]] || fail "processes of $BASE remain after the last stop"
