"""A FHIR-validating receiver standing in for the regional platform, as its own process.

    python -m tests.support.fhir_receiver PORT DB CLIENT_ID SECRET [HOLD_FIRST HOLD_S FAIL_FIRST]

- `POST /token`: OAuth2 client credentials (client id and secret in HTTP Basic); a bearer token.
- `POST /fhir`: a `transaction` Bundle, with a token it issued. The whole Bundle and every
  resource in it are parsed by the FHIR R4 (4.0.1) models of `fhirclient` in strict mode; every
  entry must be `PUT Type/id` of its resource. Applied in one SQLite transaction (update or
  create each resource, its version counting the writes), then answered with a
  `transaction-response`. Invalid: 400 with an OperationOutcome, nothing applied.
- `GET /fhir/{type}/{id}`: a stored resource; `GET /stats`: what was stored and received.
- Faults: the first `HOLD_FIRST` transactions are held `HOLD_S` seconds after they are committed
  and before they are answered (a sender killed meanwhile sends them again); the first
  `FAIL_FIRST` transactions are refused with 503 before anything is applied.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": text[:2000]}],
    }


def check(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, id, resource) of each entry of a valid transaction; ValueError otherwise."""
    if doc.get("resourceType") != "Bundle" or doc.get("type") != "transaction":
        raise ValueError("not a transaction Bundle")
    Bundle(doc, strict=True)  # FHIRValidationError (a ValueError... or not): caught by caller
    out = []
    for e in doc.get("entry", []):
        r = e["resource"]
        path = f"{r['resourceType']}/{r.get('id')}"
        if e.get("request", {}).get("method") != "PUT" or e["request"].get("url") != path:
            raise ValueError(f"entry {path}: expected PUT {path}")
        out.append((r["resourceType"], r["id"], r))
    return out


class Receiver:
    def __init__(self, db: str, client_id: str, secret: str, hold: tuple[int, float, int]) -> None:
        self.lock = threading.Lock()
        self.conn = sqlite3.connect(db, check_same_thread=False)
        self.conn.executescript(
            "CREATE TABLE IF NOT EXISTS resources (type TEXT, id TEXT, version INTEGER, body TEXT,"
            " PRIMARY KEY (type, id));"
            "CREATE TABLE IF NOT EXISTS received (type TEXT, id TEXT, request TEXT);"
        )
        self.client = (client_id, secret)
        self.tokens: set[str] = set()
        self.hold_first, self.hold_s, self.fail_first = hold
        self.transactions = 0

    def apply(self, entries: list[tuple[str, str, dict[str, Any]]], request: str) -> list[str]:
        statuses = []
        with self.lock, self.conn:
            for kind, rid, r in entries:
                row = self.conn.execute(
                    "SELECT version FROM resources WHERE type=? AND id=?", (kind, rid)
                ).fetchone()
                version = 1 if row is None else row[0] + 1
                self.conn.execute(
                    "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?)",
                    (kind, rid, version, json.dumps(r)),
                )
                self.conn.execute("INSERT INTO received VALUES (?, ?, ?)", (kind, rid, request))
                statuses.append("201 Created" if row is None else "200 OK")
        return statuses

    def stats(self) -> dict[str, Any]:
        with self.lock:
            types = dict(self.conn.execute("SELECT type, COUNT(*) FROM resources GROUP BY type"))
            received = self.conn.execute(
                "SELECT type || '/' || id, COUNT(*), COUNT(DISTINCT request) FROM received"
                " GROUP BY type, id"
            ).fetchall()
        return {
            "resources": types,
            "transactions": self.transactions,
            "received": {k: n for k, n, _ in received},
            "requests": {k: m for k, _, m in received},
        }


class Handler(BaseHTTPRequestHandler):
    rx: Receiver

    def _send(self, code: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the sender is gone (killed while the answer was held)
            return

    def do_GET(self) -> None:
        if self.path == "/stats":
            self._send(200, self.rx.stats())
            return
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "fhir":
            with self.rx.lock:
                row = self.rx.conn.execute(
                    "SELECT body FROM resources WHERE type=? AND id=?", (parts[1], parts[2])
                ).fetchone()
            if row is not None:
                self._send(200, json.loads(row[0]))
                return
        self._send(404, _outcome("not found"))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/token":
            self._token(body)
            return
        if self.path != "/fhir":
            self._send(404, _outcome("not found"))
            return
        auth = self.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.rx.tokens:
            self._send(401, _outcome("a valid bearer token is required"))
            return
        with self.rx.lock:
            self.rx.transactions += 1
            n = self.rx.transactions
        if n <= self.rx.fail_first:
            self._send(503, _outcome("unavailable, try again"))
            return
        try:
            entries = check(json.loads(body))
        except (FHIRValidationError, ValueError, KeyError, TypeError) as exc:
            self._send(400, _outcome(f"{type(exc).__name__}: {exc}"))
            return
        statuses = self.rx.apply(entries, self.headers.get("X-Request-Id", ""))
        if n <= self.rx.hold_first:
            time.sleep(self.rx.hold_s)
        self._send(
            200,
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [{"response": {"status": s}} for s in statuses],
            },
        )

    def _token(self, body: bytes) -> None:
        basic = self.headers.get("Authorization", "").removeprefix("Basic ")
        try:
            who = tuple(base64.b64decode(basic).decode().split(":", 1))
        except ValueError:
            who = ()
        if b"grant_type=client_credentials" not in body or who != self.rx.client:
            self._send(401, {"error": "invalid_client"})
            return
        token = secrets.token_urlsafe(16)
        self.rx.tokens.add(token)
        self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve(port: int, rx: Receiver) -> None:
    Handler.rx = rx
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    a = sys.argv[1:]
    hold = (int(a[4]), float(a[5]), int(a[6])) if len(a) >= 7 else (0, 0.0, 0)
    serve(int(a[0]), Receiver(a[1], a[2], a[3], hold))
