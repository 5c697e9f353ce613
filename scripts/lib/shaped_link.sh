# A slow line between agent and vault on one machine, sourced by
# bench/link.sh and tests/e2e/link_test.sh.
#
# Both run inside a network namespace of their own (unshare -n), whose
# loopback carries every byte between the agent and a vault started there;
# nothing else on the machine is affected and the namespace ends with the
# script.
#
# shaping_available: true when this process may make a namespace and shape
#   its loopback (root, unshare, ip and tc with tbf); prints why not.
# shape_loopback RATE BURST LATENCY: brings lo up with the MTU of an
#   Ethernet line (1500) and a tbf qdisc, replacing any earlier one. The MTU
#   matters: loopback's own (64 KiB) is larger than a small tbf bucket, and
#   tbf drops a packet larger than its bucket every time it is sent, so any
#   TCP stream would stall for good (curl as much as coffre).

shaping_available() {
  if ((EUID != 0)); then
    echo "not root: a network namespace and tc need root"
    return 1
  fi
  local tool
  for tool in unshare ip tc; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (iproute2, util-linux)"; return 1; }
  done
  if ! unshare -n sh -c 'ip link set lo up && tc qdisc add dev lo root tbf rate 10mbit burst 32kb latency 50ms' 2>/dev/null; then
    echo "this kernel does not let a namespace shape its loopback with tbf"
    return 1
  fi
}

shape_loopback() {
  local rate=$1 burst=$2 latency=$3
  ip link set lo up
  ip link set lo mtu 1500
  tc qdisc replace dev lo root tbf rate "$rate" burst "$burst" latency "$latency"
}

# rate_bits RATE: a tc rate (100mbit, 20mbit, 512kbit) in bits per second.
rate_bits() {
  local r=${1,,}
  case $r in
    *gbit) echo $((${r%gbit} * 1000000000)) ;;
    *mbit) echo $((${r%mbit} * 1000000)) ;;
    *kbit) echo $((${r%kbit} * 1000)) ;;
    *bit) echo "${r%bit}" ;;
    *) echo "rate_bits: unknown rate $1" >&2; return 1 ;;
  esac
}
