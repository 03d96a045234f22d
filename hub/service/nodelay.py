"""The HTTP protocol ``hub serve`` runs: uvicorn's httptools parser on every connection with
``TCP_NODELAY`` set explicitly (small responses leave at once instead of waiting for the
peer's delayed ACK: Nagle's algorithm costs up to 40 ms per keep-alive request otherwise)."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Set ``TCP_NODELAY`` on ``transport``'s socket; False when it is not a TCP socket."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return True


class NoDelayHttpTools(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that sets ``TCP_NODELAY`` on each new connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


PROTOCOL = f"{__name__}:NoDelayHttpTools"
