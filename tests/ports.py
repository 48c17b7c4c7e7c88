"""A loopback port that nothing listens on (bound, then released): for a test server to take, or for a client
that must find no server there."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
