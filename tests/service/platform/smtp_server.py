"""A real SMTP server for the notification tests (aiosmtpd), which can go down and come back."""

from __future__ import annotations

import email
import socket
import threading
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["SmtpServer", "free_port"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Collect:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.original_content)
        with self.server.lock:
            for address in envelope.rcpt_tos:
                self.server.received.append((address, message))
        return "250 OK"


class SmtpServer:
    """An SMTP server on a fixed local port: ``start()``, ``stop()`` (down), ``start()`` again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, Message]] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[tuple[str, Message]]:
        with self.lock:
            return list(self.received)
