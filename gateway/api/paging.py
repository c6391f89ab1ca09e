"""Cursor pagination for list routes: keyset cursors, the next page named in a `Link` header.

A list route asks its store for one item more than `limit`; if it comes back, the response has
`Link: <same URL with cursor=...>; rel="next"` (RFC 8288), and the list body keeps its shape. A
cursor is opaque to clients (base64url of the last item's sort key); a forged or stale one is a
422, never a different tenant's page (the tenant filter applies to every page).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import HTTPException, Query, Request, Response

from devices.timeparse import format_ts, parse_ts

T = TypeVar("T")
Key = tuple[str | int, ...]

CursorParam = Annotated[
    str | None, Query(max_length=512, description="`cursor` of the `Link: rel=next` header")
]


def encode(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode(cursor: str | None, arity: int) -> Key | None:
    """The sort key a cursor names (None: the first page); 422 for anything else."""
    if cursor is None:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(422, "bad cursor") from exc
    if not (isinstance(raw, list) and len(raw) == arity):
        raise HTTPException(422, "bad cursor")
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in raw):
        raise HTTPException(422, "bad cursor")
    return tuple(raw)


def int_key(cursor: str | None) -> int | None:
    """A one-integer cursor (an id, as lists sorted by id use)."""
    key = decode(cursor, 1)
    if key is not None and not isinstance(key[0], int):
        raise HTTPException(422, "bad cursor")
    return None if key is None else int(key[0])


def str_key(cursor: str | None) -> str | None:
    """A one-string cursor (a name, as lists sorted by name use)."""
    key = decode(cursor, 1)
    if key is not None and not isinstance(key[0], str):
        raise HTTPException(422, "bad cursor")
    return None if key is None else str(key[0])


def time_key(cursor: str | None) -> tuple[datetime, str] | None:
    """A (time, id) cursor, as lists sorted newest first use."""
    key = decode(cursor, 2)
    if key is None:
        return None
    at, ident = key
    if not isinstance(at, str) or not isinstance(ident, str):
        raise HTTPException(422, "bad cursor")
    try:
        return parse_ts(at), ident
    except ValueError as exc:
        raise HTTPException(422, "bad cursor") from exc


def time_cursor(at: datetime, ident: str) -> Key:
    return (format_ts(at), ident)


def page(
    request: Request,
    response: Response,
    items: Sequence[T],
    limit: int,
    key_of: Callable[[T], Key],
) -> list[T]:
    """The first `limit` items; when there were more, the next page's link."""
    if len(items) <= limit:
        return list(items)
    shown = list(items[:limit])
    url = request.url.include_query_params(cursor=encode(key_of(shown[-1])))
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return shown
