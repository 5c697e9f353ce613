#!/usr/bin/env bash
# Starts and stops a real single-node Ceph RADOS Gateway (S3) on 127.0.0.1,
# for the S3 store's tests, the benchmarks and the quickstart.
#
# Usage:
#   scripts/rgw.sh start BASE_DIR [--port PORT] [--mon-port PORT] [--memstore]
#   scripts/rgw.sh stop BASE_DIR
#   scripts/rgw.sh env BASE_DIR
#
# One monitor, one OSD and one radosgw, no manager (S3 does not need it) and
# no systemd. Everything the cluster owns lives under BASE_DIR: ceph.conf,
# mon/ and osd/ data, run/ (pid files, admin sockets), log/, and s3.env, the
# S3 user's keys (random, made once per BASE_DIR, mode 600). Clusters in
# different BASE_DIRs with different ports run side by side. The daemons run
# in the foreground of their own sessions, so their pids are known from the
# start and a failed start leaves none behind.
#
# The OSD keeps its objects in BlueStore on a sparse 20 GiB file by default
# (persistent: `start` after `stop` brings the same buckets back; bounded
# memory), or in RAM with --memstore (at most 4 GiB; a fresh, empty cluster
# at every start, with the same keys; starts about twice as fast). The ports
# default to 7480 (S3) and 3300 (monitor) and are kept in BASE_DIR.
#
# For tests only: the daemons trust each other without cephx, so anyone on
# this machine who reaches the monitor port can read the cluster (S3
# requests themselves are checked with SigV4). The daemons inherit the
# caller's niceness: on a shared machine, `nice -n 19 scripts/rgw.sh start`.
#
# start refuses when a cluster already runs in BASE_DIR or a port is taken,
# waits at most COFFRE_RGW_START_TIMEOUT seconds (default 90) for the
# gateway to answer HTTP, then prints how to use it. On failure it prints one
# error line and the tail of the log at fault, and stops what it started.
# stop ends the daemons by their pid files and is a no-op when none runs.
# env prints COFFRE_S3_ENDPOINT, _REGION, _ACCESS_KEY and _SECRET_KEY lines.
# Errors: one line "rgw.sh: error: ..." on stderr, exit 1 (2 for usage).
set -euo pipefail

prog=rgw.sh
# The S3 user every cluster gets, and the region it answers to: SigV4
# accepts any name, but a CreateBucket LocationConstraint must be absent or
# the zonegroup's name, "default" ("us-east-1" gets InvalidLocationConstraint).
s3_uid=coffre
s3_region=default
bluestore_bytes=$((20 << 30))  # sparse: only what is written takes disk
memstore_bytes=$((4 << 30))    # a ceiling on RAM, not a reservation

die() {
  echo "$prog: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $prog start BASE_DIR [--port PORT] [--mon-port PORT] [--memstore]" >&2
  echo "       $prog stop BASE_DIR" >&2
  echo "       $prog env BASE_DIR" >&2
  exit 2
}

# The daemons in start order; stop goes the other way.
daemons=(mon.a osd.0 client.rgw.a)

set_paths() {
  base=$1
  conf=$base/ceph.conf
  state=$base/cluster.env
  creds=$base/s3.env
  run=$base/run
  logs=$base/log
}

pid_file() { echo "$run/$1.pid"; }

# The pid of daemon $1 when it runs with this BASE_DIR's config (a stale pid
# file, or one whose pid now belongs to another process, gives nothing).
live_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-c $conf " || return 1
  echo "$pid"
}

# Whether process $1 still runs. A daemon that exited can linger as a zombie
# until the init of a container reaps it; that counts as gone.
running() {
  local stat
  stat=$(cat 2>/dev/null "/proc/$1/stat") || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# Seconds since $1 (an $EPOCHREALTIME), to a tenth.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Whether something already accepts connections on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ceph_cli() { timeout "$(remaining)" ceph -c "$conf" --connect-timeout 30 "$@"; }

# Seconds left before the start deadline (at least 1).
remaining() {
  local left=$((deadline - SECONDS))
  ((left > 0)) || left=1
  echo "$left"
}

# start_failed MSG DAEMON: stops whatever this start began, then prints the
# error line and the tail of DAEMON's log (and of its stderr, if any).
start_failed() {
  local msg=$1 name=$2 log tails="" i
  trap - INT TERM HUP
  for log in "$logs/$name.out" "$logs/$name.log"; do
    if [[ -s $log ]]; then tails+="--- last lines of $log:"$'\n'"$(tail -n 15 "$log")"$'\n'; fi
  done
  for ((i = ${#started_daemons[@]} - 1; i >= 0; i--)); do
    name=${started_daemons[i]}
    stop_daemon "$name" "$(<"$(pid_file "$name")")" >/dev/null 2>&1 || true
  done
  echo "$prog: error: $msg" >&2
  printf '%s' "$tails" >&2
  exit 1
}

# start_daemon NAME CMD...: runs a daemon in the foreground (-f) of a session
# of its own, in the background of this script, and records its pid.
declare -a started_daemons=()
start_daemon() {
  local name=$1
  shift
  setsid "$@" -f -c "$conf" </dev/null >>"$logs/$name.out" 2>&1 &
  echo $! >"$(pid_file "$name")"
  started_daemons+=("$name")
}

# wait_for WHAT CHECK...: polls CHECK until it holds; the start fails when a
# daemon it started exits or the deadline passes.
wait_for() {
  local what=$1 name pid
  shift
  until "$@"; do
    for name in "${started_daemons[@]}"; do
      pid=$(<"$(pid_file "$name")")
      running "$pid" || start_failed "$name exited while waiting for $what" "$name"
    done
    ((SECONDS < deadline)) ||
      start_failed "no $what within $start_timeout s" "${started_daemons[-1]}"
    sleep 0.2
  done
}

# The OSD is up and serving: asked on its admin socket, not the cluster.
osd_active() {
  timeout 10 ceph --admin-daemon "$run/osd.0.asok" status 2>/dev/null | grep -q '"state": "active"'
}

http_answers() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$rgw_port/") != 000 ]]
}

write_conf() {
  cat >"$conf" <<EOF
# A single-node test cluster made by scripts/rgw.sh; all of it on 127.0.0.1.
[global]
fsid = $(uuidgen)
mon initial members = a
mon host = [v2:127.0.0.1:$mon_port]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
# Loopback only: no cephx between daemons (S3 requests still need SigV4).
auth cluster required = none
auth service required = none
auth client required = none
# Without it radosgw never gets past get_initial_auth_request (-13).
ms mon client mode = crc secure
run dir = $run
crash dir = $base/crash
# One OSD: pools of one copy, placed on OSDs rather than hosts, few PGs.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# A shared build machine's disk may be nearly full; the mon must still run.
mon data avail warn = 2
mon data avail crit = 1
# The monitor batches map changes for a second by default; RGW's first start
# creates its pools one by one, each waiting for such a batch.
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $base/mon/\$cluster-\$id
mon cluster log file = $logs/cluster.log
log file = $logs/\$name.log
admin socket = $run/\$name.asok

[osd]
osd data = $base/osd/\$cluster-\$id
osd objectstore = $store
bluestore block create = true
bluestore block size = $bluestore_bytes
bluestore fsck on mkfs = false
memstore device bytes = $memstore_bytes
osd memory target = 1073741824
osd op num shards = 1
log file = $logs/\$name.log
admin socket = $run/\$name.asok

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $base/rgw
log file = $logs/\$name.log
admin socket = $run/\$name.asok
EOF
}

# s3.env: the endpoint and the S3 keys, drawn once per BASE_DIR (20 and 40
# characters, as RGW makes them) and kept when the file is rewritten.
write_creds() {
  local access="" secret="" random
  if [[ -f $creds ]]; then
    access=$(cred COFFRE_S3_ACCESS_KEY)
    secret=$(cred COFFRE_S3_SECRET_KEY)
  fi
  if ((${#access} != 20 || ${#secret} != 40)); then
    random=$(LC_ALL=C tr -dc 'A-Z0-9' < <(head -c 4096 /dev/urandom))
    access=${random:0:20}
    random=$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 4096 /dev/urandom))
    secret=${random:0:40}
    ((${#access} == 20 && ${#secret} == 40)) || die "could not draw random S3 keys"
  fi
  (
    umask 077
    cat >"$creds.tmp" <<EOF
COFFRE_S3_ENDPOINT=http://127.0.0.1:$rgw_port
COFFRE_S3_REGION=$s3_region
COFFRE_S3_ACCESS_KEY=$access
COFFRE_S3_SECRET_KEY=$secret
EOF
  )
  mv "$creds.tmp" "$creds"
}

cred() { sed -n "s/^$1=//p" "$creds"; }

# Ports and store of BASE_DIR: those it holds, which the options must not
# contradict, or the options' (else the defaults) for a new BASE_DIR.
settle_settings() {
  local want_port=$1 want_mon=$2 want_store=$3
  if [[ -f $state ]]; then
    rgw_port=$(sed -n 's/^rgw_port=//p' "$state")
    mon_port=$(sed -n 's/^mon_port=//p' "$state")
    store=$(sed -n 's/^store=//p' "$state")
    [[ -z $want_port || $want_port == "$rgw_port" ]] ||
      die "$base holds a cluster on S3 port $rgw_port, not $want_port (stop it and remove $base to change)"
    [[ -z $want_mon || $want_mon == "$mon_port" ]] ||
      die "$base holds a cluster on monitor port $mon_port, not $want_mon (stop it and remove $base to change)"
    [[ -z $want_store || $want_store == "$store" ]] ||
      die "$base holds a $store cluster, not $want_store (stop it and remove $base to change)"
  else
    rgw_port=${want_port:-7480}
    mon_port=${want_mon:-3300}
    store=${want_store:-bluestore}
  fi
  [[ $rgw_port != "$mon_port" ]] || die "--port and --mon-port must differ (both $rgw_port)"
}

# A new cluster: monitor map and store (the OSD comes once the monitor runs).
# BASE_DIR records it in cluster.env only once it served S3, so a start that
# failed half-way is made anew by the next one.
create_cluster() {
  rm -f "$state"
  rm -rf "$base/mon" "$base/osd" "$run" "$base/crash" "$base/rgw" "$base/monmap"
  : >"$logs/mkfs.log"
  mkdir -p "$base/mon" "$base/osd/ceph-0" "$run" "$logs" "$base/crash" "$base/rgw"
  write_conf
  monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$conf")" \
    --addv a "[v2:127.0.0.1:$mon_port]" "$base/monmap" >>"$logs/mkfs.log" 2>&1 ||
    start_failed "monmaptool could not create the monitor map" mkfs
  ceph-mon -c "$conf" --mkfs -i a --monmap "$base/monmap" >>"$logs/mkfs.log" 2>&1 ||
    start_failed "ceph-mon --mkfs failed" mkfs
}

create_osd() {
  local uuid id
  uuid=$(uuidgen)
  id=$(ceph_cli osd new "$uuid" 2>>"$logs/mkfs.log") ||
    start_failed "the monitor did not register the OSD" mon.a
  [[ $id == 0 ]] || start_failed "the monitor gave OSD id '$id', expected 0" mon.a
  timeout "$(remaining)" ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" \
    >>"$logs/mkfs.log" 2>&1 || start_failed "ceph-osd --mkfs failed" mkfs
}

ensure_user() {
  timeout 30 radosgw-admin -c "$conf" user info --uid="$s3_uid" >/dev/null 2>&1 && return
  timeout "$(remaining)" radosgw-admin -c "$conf" user create --uid="$s3_uid" \
    --display-name="Coffre tests" --access-key="$(cred COFFRE_S3_ACCESS_KEY)" \
    --secret-key="$(cred COFFRE_S3_SECRET_KEY)" >/dev/null 2>>"$logs/radosgw-admin.log" ||
    start_failed "radosgw-admin could not create the S3 user" radosgw-admin
}

cmd_start() {
  local want_port="" want_mon="" want_store=""
  while (($#)); do
    case $1 in
      --port | --mon-port)
        if ! [[ ${2:-} =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
          die "$1 needs a port number, got '${2:-}'"
        fi
        if [[ $1 == --port ]]; then want_port=$2; else want_mon=$2; fi
        shift 2
        ;;
      --memstore) want_store=memstore; shift ;;
      *) usage ;;
    esac
  done
  local tool
  for tool in ceph ceph-mon ceph-osd monmaptool radosgw radosgw-admin uuidgen curl; do
    command -v "$tool" >/dev/null ||
      die "$tool is not installed (run: COFFRE_S3_DEPS=1 scripts/install-deps.sh)"
  done
  set_paths "$(realpath -m "$base")"
  # An admin socket path must fit in a sockaddr_un (108 bytes).
  ((${#run} + 24 < 108)) || die "$base is too long a path for the daemons' admin sockets"

  local name pid
  for name in "${daemons[@]}"; do
    if pid=$(live_pid "$name"); then
      die "a cluster already runs in $base ($name, pid $pid): run '$0 stop $base' first"
    fi
  done
  settle_settings "$want_port" "$want_mon" "$want_store"
  local port
  for port in "$rgw_port" "$mon_port"; do
    ! port_taken "$port" || die "port $port on 127.0.0.1 is already in use"
  done
  mkdir -p "$logs" || die "cannot create $logs"

  local started=$EPOCHREALTIME
  start_timeout=${COFFRE_RGW_START_TIMEOUT:-90}
  deadline=$((SECONDS + start_timeout))
  local fresh=0
  if [[ ! -f $state || $store == memstore ]]; then
    fresh=1
    create_cluster
  fi
  write_creds
  rm -f "$run"/*.pid
  trap 'start_failed "interrupted" "${started_daemons[-1]:-mon.a}"' INT TERM HUP

  start_daemon mon.a ceph-mon -i a
  if ((fresh)); then
    wait_for "monitor on 127.0.0.1:$mon_port" port_taken "$mon_port"
    create_osd
  fi
  start_daemon osd.0 ceph-osd -i 0
  # A gateway started before the OSD is up stalls seconds on its first
  # requests to the new pools; after it, it starts in about one.
  wait_for "active OSD" osd_active
  start_daemon client.rgw.a radosgw -n client.rgw.a
  wait_for "HTTP answer on 127.0.0.1:$rgw_port" http_answers
  ensure_user
  trap - INT TERM HUP
  printf 'rgw_port=%s\nmon_port=%s\nstore=%s\n' "$rgw_port" "$mon_port" "$store" >"$state"

  local how="BlueStore on a sparse file, kept across restarts"
  [[ $store == memstore ]] && how="memstore: in RAM, emptied at every start"
  echo "rgw: S3 at http://127.0.0.1:$rgw_port ready in $(since "$started") s ($how)"
  echo "  environment: set -a; source <($0 env $base); set +a"
  echo "  keys:        $creds (region $s3_region, path-style URLs)"
  echo "  try:         curl --aws-sigv4 aws:amz:$s3_region:s3 --user \"\$COFFRE_S3_ACCESS_KEY:\$COFFRE_S3_SECRET_KEY\" \\"
  echo "                 -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \$COFFRE_S3_ENDPOINT/"
  echo "  logs:        $logs"
  echo "  stop:        $0 stop $base"
}

# Ends the daemons and prints how many ran. One at a time, in reverse start
# order: the gateway's shutdown waits on the OSD, and the OSD's on the
# monitor acknowledging that it goes down.
stop_daemons() {
  local i stopped=0
  for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
    if stop_daemon "${daemons[i]}"; then stopped=$((stopped + 1)); fi
  done
  echo "$stopped"
}

# stop_daemon NAME [PID]: SIGTERM, SIGKILL after 20 s, and waits for the
# exit; false when it did not run. PID (one this start launched) is trusted;
# otherwise the pid file's, if it names a process of this BASE_DIR.
stop_daemon() {
  local name=$1 pid=${2:-} waited
  if [[ -z $pid ]]; then
    pid=$(live_pid "$name") || { rm -f "$(pid_file "$name")"; return 1; }
  fi
  kill -TERM "$pid" 2>/dev/null || return 1
  for ((waited = 0; waited < 200; waited++)); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    echo "$prog: $name (pid $pid) ignored SIGTERM for 20 s: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
    while running "$pid"; do sleep 0.1; done
  fi
  rm -f "$(pid_file "$name")"
}

cmd_stop() {
  (($# == 0)) || usage
  set_paths "$(realpath -m "$base")"
  local stopped started=$EPOCHREALTIME
  stopped=$(stop_daemons)
  if ((stopped == 0)); then
    echo "rgw: nothing runs in $base"
  else
    echo "rgw: stopped $stopped daemon(s) in $base in $(since "$started") s"
  fi
}

cmd_env() {
  (($# == 0)) || usage
  [[ -f $creds ]] || die "no cluster in $base (run '$0 start $base' first)"
  cat "$creds"
}

(($# >= 2)) || usage
command=$1
set_paths "$2"
shift 2
case $command in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  env) cmd_env "$@" ;;
  *) usage ;;
esac
