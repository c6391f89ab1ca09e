"""A real gateway served over HTTP (uvicorn in a thread) and Debian's Chromium driven by
Playwright, for the dashboard's browser tests and benchmark.

Playwright never downloads a browser here: it launches `/usr/bin/chromium` (the Debian package,
installed by `deploy/system-deps.sh`)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright

from devices.model import utcnow
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.auth.model import Account, AccountKind
from gateway.auth.passwords import hash_secret
from gateway.runtime.settings import Settings
from gateway.storage.accounts import AccountStore
from tests.support.auth import token_for
from tests.support.servers import free_port

T = TypeVar("T")

CHROMIUM = os.environ.get("HMG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("HMG_SCREENSHOTS", REPO / "build" / "screenshots"))


@dataclass
class LiveGateway:
    """The gateway app on a real port; `api` calls it as a client would: reads as a clinician,
    changes as an administrator of `tenant` (tokens of the gateway's own issuer)."""

    url: str
    server: uvicorn.Server
    app: FastAPI
    loop: asyncio.AbstractEventLoop
    tenant: str | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's event loop (where the gateway lives)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def add_user(self, name: str, role: Role, tenant: str, password: str) -> None:
        """A local account, as `hmg users add` makes it."""
        gw = self.app.state.gateway
        account = Account(name, AccountKind.USER, role, tenant, name, hash_secret(password))
        assert self.run(AccountStore(gw.db).add(account, utcnow()))

    def act_for(self, tenant: str) -> None:
        """Call the API from now on for `tenant`."""
        self.tenant = tenant

    def token(self, role: Role) -> str:
        assert self.tenant, "call act_for(tenant) first"
        return token_for(self.app, role, self.tenant, f"{role.value}.{self.tenant}")

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if self.tenant:
            role = Role.CLINICIAN if method == "GET" else Role.ADMIN
            headers.setdefault("Authorization", f"Bearer {self.token(role)}")
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.api(method, path, **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text[:300])
        return r.json() if r.content else None


@contextmanager
def live_gateway(settings: Settings, *, mqtt: bool = True) -> Iterator[LiveGateway]:
    """Start the whole service (its lifespan owns MQTT, pipeline and timers) on a free port."""
    port = free_port()
    app = create_app(settings, mqtt=mqtt)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start")
        time.sleep(0.05)
    loop = server.servers[0].get_loop()
    if mqtt:  # up means subscribed: a device's first message must not go to nobody
        ingest = app.state.gateway.ingest
        if ingest is None or not ingest.connected.wait(30):
            server.should_exit = True
            raise RuntimeError("the gateway's MQTT link did not subscribe")
    try:
        yield LiveGateway(f"http://127.0.0.1:{port}", server, app, loop)
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} missing: run `make system-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


PAGE_ERRORS: list[str] = []


def sign_in(page: Page, url: str, user: str, password: str) -> None:
    """Open the dashboard and sign in through its form; script errors land in PAGE_ERRORS."""
    page.on("pageerror", lambda e: PAGE_ERRORS.append(f"{page.url}: {e}"))
    page.on(
        "console",
        lambda m: PAGE_ERRORS.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: PAGE_ERRORS.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='true']")
    page.fill("#l-user", user)
    page.fill("#l-pass", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#top:not([hidden])")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under the folder named in the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
