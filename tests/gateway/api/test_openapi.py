"""Every operation of the API describes its success response with a real schema: a named model
(or a list of them), or text for the few routes that stream or export text. A new route that
returns an untyped dict fails here."""

from __future__ import annotations

from typing import Any

from gateway.api.app import create_app
from gateway.runtime.settings import Settings

# Media types whose body is text by nature (Prometheus exposition, Server-Sent Events, a
# printable page).
TEXT_TYPES = ("text/plain", "text/event-stream", "text/html")


def _typed(schema: dict[str, Any]) -> bool:
    """A reference to a component schema, a list of typed items, or plain text."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}))
    return False


def untyped_operations(spec: dict[str, Any]) -> list[str]:
    bad: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            name = f"{method.upper()} {path}"
            success = {c: r for c, r in op.get("responses", {}).items() if c.startswith("2")}
            if not success:
                bad.append(f"{name}: no 2xx response")
            for code, response in success.items():
                content = response.get("content")
                if code == "204" and not content:
                    continue
                if not content:
                    bad.append(f"{name}: {code} without content")
                    continue
                for media, body in content.items():
                    schema = body.get("schema", {})
                    text = media.startswith(TEXT_TYPES) and schema.get("type") == "string"
                    if not (text or _typed(schema)):
                        bad.append(f"{name}: {code} {media} {schema}")
    return bad


def test_every_operation_has_a_typed_success_response() -> None:
    spec = create_app(Settings(mode="test")).openapi()
    assert len(spec["paths"]) > 30
    assert untyped_operations(spec) == []


def test_the_check_refuses_an_untyped_dict() -> None:
    spec = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "additionalProperties": True}
                                }
                            }
                        }
                    }
                }
            },
            "/y": {"get": {"responses": {"422": {}}}},
            "/z": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "object"}}
                                }
                            }
                        }
                    }
                }
            },
        }
    }
    assert [b.split(":")[0] for b in untyped_operations(spec)] == ["GET /x", "GET /y", "GET /z"]
