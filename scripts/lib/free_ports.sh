# Sourced: free_ports N prints N distinct TCP ports free on 127.0.0.1 right
# now, on one line (the system picks them; another process may still take
# one before the caller binds it, as with any such probe).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
}
