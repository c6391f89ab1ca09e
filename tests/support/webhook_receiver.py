"""A webhook receiver as its own process, for integration tests: it checks each delivery's
signature, appends one JSON line per POST to a file, and answers 503 to a share of them (so the
sender's retries are exercised), 200 otherwise.

    python -m tests.support.webhook_receiver PORT OUT_FILE SECRET [FAIL_SHARE]
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gateway.notifiers import verify
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]


def start(out: Path, secret: str, fail_share: float) -> tuple[int, subprocess.Popen[bytes]]:
    """This receiver as its own process on a free port: the port and the process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.webhook_receiver", str(port), str(out), secret,
         str(fail_share)],
        cwd=REPO,
    )  # fmt: skip
    return port, proc


def serve(port: int, out: Path, secret: str, fail_share: float) -> None:
    lock = threading.Lock()
    rnd = random.Random(5)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify(
                secret,
                self.headers.get("X-HMG-Timestamp", ""),
                body,
                self.headers.get("X-HMG-Signature", ""),
            )
            with lock:
                fail = rnd.random() < fail_share
                doc = json.loads(body)
                line = {
                    "key": self.headers.get("Idempotency-Key"),
                    "delivery_id": doc.get("delivery_id"),
                    "event": doc.get("event"),
                    "patient_id": doc.get("alert", {}).get("patient_id"),
                    "code": doc.get("alert", {}).get("code"),
                    "signed": signed,
                    "status": 503 if fail else 200,
                }
                with out.open("a") as fh:
                    fh.write(json.dumps(line) + "\n")
            self.send_response(line["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    share = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    serve(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], share)
