"""E-mail and SMS through Apprise (one library, many providers).

Each channel is configured with an Apprise URL template whose `{address}` is replaced by the
recipient's contact address, checked for the channel (e-mail syntax, E.164 phone number) and
percent-encoded, so an address can never add URL parameters (another SMTP server, a blind copy),
e.g. `mailtos://user:pass@smtp.example.org?to={address}` or
`twilio://SID:TOKEN@+8610000000/{address}`. Apprise is imported lazily: without it (or without a
template) the channel reports a failed delivery, which the tier's fan-out treats like any failure.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from gateway.notifiers.addresses import InvalidAddressError, normalize_address, url_component
from gateway.notifiers.base import Notification, Receipt, render_text


class AppriseChannel:
    personal = True
    slow = True

    def __init__(self, name: str, url_template: str) -> None:
        if "{address}" not in url_template:
            raise ValueError("the Apprise URL template needs an {address} placeholder")
        self.name = name
        self.url_template = url_template

    def url_for(self, address: str) -> str:
        """The provider URL for one checked address (never `str.format`: braces elsewhere in the
        template stay as they are)."""
        return self.url_template.replace("{address}", url_component(address))

    async def deliver(self, n: Notification) -> Receipt:
        target = n.address or ""
        try:
            target = normalize_address(self.name, target)
        except InvalidAddressError as exc:
            return Receipt(self.name, target[:100], False, error=exc.reason)
        lang = n.recipient.lang if n.recipient else "zh-CN"
        title, body = render_text(n.payload, lang)
        # Apprise loads its plug-ins lazily and some still import the deprecated `imghdr`.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                apprise: Any = importlib.import_module("apprise")
            except ImportError:
                return Receipt(self.name, target, False, error="apprise is not installed")
            client = apprise.Apprise()
            added = client.add(self.url_for(target))
        if not added:
            return Receipt(self.name, target, False, error="invalid Apprise URL")
        ok = bool(await client.async_notify(body=body, title=title))
        return Receipt(self.name, target, ok, error=None if ok else "provider refused")
