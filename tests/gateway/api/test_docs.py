"""The API documentation pages load every script and style from the gateway itself."""

from __future__ import annotations

import re

import httpx

from gateway.api.app import create_app
from gateway.runtime.settings import Settings


async def test_docs_pages_reference_only_the_gateways_own_assets() -> None:
    app = create_app(Settings(mode="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/redoc")).status_code == 404
        for page in ("/docs",):
            r = await c.get(page)
            assert r.status_code == 200, page
            urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
            urls += re.findall(r"url: '([^']+)'", r.text)
            assert urls, page
            for url in urls:
                assert url.startswith("/"), (page, url)  # nothing from another origin
                asset = await c.get(url)
                assert asset.status_code == 200, (page, url)
        assert (await c.get("/openapi.json")).json()["info"]["title"].startswith("hmg")
