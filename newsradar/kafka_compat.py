"""A fix for kafka-python 3.0.12 that every module creating kafka-python clients imports.

kafka-python's connect path (``kafka.net.inet.KafkaNetSocket.sock_connect``) leaves the socket
open when a connection attempt fails (refused, reset, timed out). While a broker is down every
retry leaks one socket until the garbage collector finds it, which is a file-descriptor leak in
long-running services and a ``ResourceWarning`` in tests. The wrapper closes the socket when the
attempt fails; a successful connection is returned untouched. Remove it once kafka-python closes
failed sockets itself.
"""

from __future__ import annotations

import functools
import socket
from typing import Any

from kafka.net.inet import KafkaNetSocket

_original = KafkaNetSocket.sock_connect


@functools.wraps(_original)
async def _sock_connect(
    self: KafkaNetSocket, net: Any, sock: socket.socket, sockaddr: Any, timeout_at: Any = None
) -> socket.socket:
    try:
        connected: socket.socket = await _original(self, net, sock, sockaddr, timeout_at=timeout_at)
    except BaseException:
        sock.close()
        raise
    return connected


def installed() -> bool:
    return KafkaNetSocket.sock_connect is _sock_connect


KafkaNetSocket.sock_connect = _sock_connect
