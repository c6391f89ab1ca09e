"""The clinicians' dashboard: static files served by the gateway itself at `/`.

Everything the page needs ships in this package (HTML, CSS, ES modules, message catalogues):
no CDN, no build step. The page holds its bearer token in session storage and sends it as an
`Authorization` header, so no cookie carries authority and there is no CSRF surface. The files
hold no health data; every figure on the page comes from the guarded API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.requests import Request
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC", "mount_dashboard"]

STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    # Own origin only: no inline script, no third-party code, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def mount_dashboard(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/ui/` (public: code and texts, no data)."""

    async def index(_request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    app.add_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=STATIC), name="dashboard")
