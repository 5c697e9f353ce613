#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 that breaks every connection after it has
carried CUT bytes from the server to the client: a line that keeps dropping
long downloads, for tests/e2e/link_test.sh.

Usage: cutting_proxy.py PORT_FILE TARGET_PORT CUT
Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening) and
relays each connection to 127.0.0.1:TARGET_PORT. TLS passes through as bytes;
the cut falls in the middle of a record, as a real break would.
"""
import asyncio
import socket
import struct
import sys


async def pipe(reader, writer, budget=None):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if budget is not None:
                if len(data) >= budget[0]:
                    writer.write(data[: budget[0]])
                    await writer.drain()
                    return "cut"
                budget[0] -= len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    return "done"


def abort(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Close with a reset, as a broken line ends a connection.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def handle(client_reader, client_writer, target_port, cut):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        abort(client_writer)
        return
    budget = [cut]
    up = asyncio.ensure_future(pipe(client_reader, server_writer))
    down = asyncio.ensure_future(pipe(server_reader, client_writer, budget))
    await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    for task in (up, down):
        task.cancel()
    abort(client_writer)
    abort(server_writer)


async def main():
    port_file, target_port, cut = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target_port, cut), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    import os
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
