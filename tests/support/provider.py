"""A local HTTP endpoint standing in for an SMS or e-mail provider (Apprise's `json://` plug-in
posts each message to it as JSON): it records the path and body of every message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Provider:
    def __init__(self, port: int) -> None:
        self.port = port
        self.got: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def url(self, channel: str) -> str:
        """The Apprise URL template of a channel sending here."""
        return f"json://127.0.0.1:{self.port}/{channel}/{{address}}"

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.got)


@contextmanager
def local_provider() -> Iterator[Provider]:
    holder: list[Provider] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with holder[0].lock:
                holder[0].got.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Provider(server.server_address[1]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
