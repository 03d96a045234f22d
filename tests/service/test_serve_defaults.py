"""``hub serve``'s defaults: uvloop + httptools with TCP_NODELAY on every connection, and one
HTTP worker per core unless told."""

from __future__ import annotations

import asyncio
import socket

import uvloop

from hub.cli import _cores
from hub.service.nodelay import PROTOCOL, NoDelayHttpTools, set_nodelay


def test_accepted_connections_get_tcp_nodelay() -> None:
    seen: list[int] = []

    class Probe(NoDelayHttpTools):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            set_nodelay(transport)
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            seen.append(before)
            transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Probe.__new__(Probe), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    uvloop.run(main())
    assert seen[0] == 1  # set (uvloop may have set it already: then it stays set)
    assert PROTOCOL == "hub.service.nodelay:NoDelayHttpTools"


def test_set_nodelay_skips_what_is_not_tcp() -> None:
    class Fake:
        def get_extra_info(self, name: str) -> object:
            return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    assert set_nodelay(Fake()) is False  # type: ignore[arg-type]


def test_workers_default_to_the_cores() -> None:
    import os

    assert _cores() == len(os.sched_getaffinity(0)) >= 1
