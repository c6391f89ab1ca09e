"""Contact addresses, checked per channel before they are stored or used.

An address is data, never part of a URL's syntax: e-mail addresses must be plain mailbox syntax
(a conservative local part, a real domain name), phone numbers are parsed with `phonenumbers` and
kept in E.164, and whatever goes into a provider URL is percent-encoded (`url_component`).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Local parts with characters that mean something in URLs or headers (& = ? # / : % , ; ' " etc.)
# are legal in RFC 5322 but are not accepted here.
_LOCAL_PART = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
_APP_TOKEN = re.compile(r"^[A-Za-z0-9:_.-]{1,200}$")
PHONE_CHANNELS = frozenset({"sms", "voice"})


class InvalidAddressError(ValueError):
    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"invalid {channel} address: {reason}")
        self.channel = channel
        self.reason = reason


def normalize_address(channel: str, address: str) -> str:
    """The address in canonical form for `channel`, or `InvalidAddressError`.

    >>> normalize_address("sms", "+86 138 0013 8000")
    '+8613800138000'
    >>> normalize_address("email", "Dr.Wang@Example.org")
    'Dr.Wang@example.org'
    """
    address = address.strip()
    if channel == "email":
        return _email(address)
    if channel in PHONE_CHANNELS:
        return _phone(channel, address)
    if channel == "webhook":
        parts = urlsplit(address)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise InvalidAddressError(channel, "an https URL without credentials is required")
        return address
    if channel == "app":
        if not _APP_TOKEN.match(address):
            raise InvalidAddressError(channel, "an app token is 1-200 of A-Z a-z 0-9 : _ . -")
        return address
    raise InvalidAddressError(channel, "unknown channel")


def _email(address: str) -> str:
    try:
        info = validate_email(address, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError as exc:
        raise InvalidAddressError("email", str(exc)) from exc
    if not _LOCAL_PART.match(info.local_part):
        raise InvalidAddressError("email", "the part before @ may only use A-Z a-z 0-9 . _ + -")
    return info.normalized


def _phone(channel: str, address: str) -> str:
    if not address.startswith("+"):
        raise InvalidAddressError(channel, "E.164 with country code, e.g. +8613800138000")
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddressError(channel, str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddressError(channel, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def url_component(address: str) -> str:
    """Percent-encode an address for a provider URL: only `@` and the leading `+` stay literal.

    >>> url_component("a&bcc=spy@evil.test")
    'a%26bcc%3Dspy@evil.test'
    """
    return quote(address, safe="@+")


def redact_url(url: str) -> str:
    """A URL safe to show: scheme and host only (paths and queries often carry tokens).

    >>> redact_url("https://hooks.example.org/T000/B000/XXXX?token=abc")
    'https://hooks.example.org/…'
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"
