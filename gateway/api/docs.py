"""The OpenAPI documentation pages, served with their scripts from the gateway itself.

FastAPI's own `/docs` loads Swagger UI from a public CDN; a gateway on a hospital intranet has
none. The same page is built here against the Swagger UI assets that the `fastapi-offline`
package installs, mounted under `/docs-assets`. It is public, like the OpenAPI document it
renders: neither holds any data. (ReDoc is left out: its page fetches a logo from its maker's
site.)
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS", "mount_docs"]

ASSETS = "/docs-assets"
_STATIC = Path(fastapi_offline.__file__).resolve().parent / "static"


def mount_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and its OAuth2 redirect; build the app with `docs_url=None,
    redoc_url=None` so FastAPI's CDN pages are not added too."""
    openapi = app.openapi_url or "/openapi.json"
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    async def swagger(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app.title} - API",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    async def swagger_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_route(redirect, swagger_redirect, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=_STATIC), name="docs-assets")
