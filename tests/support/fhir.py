"""FHIR R4 validation for tests: every resource the gateway exports is parsed by the FHIR R4
(4.0.1) model classes of `fhirclient` in strict mode (unknown elements, missing required elements,
wrong types and badly formed primitives all fail), and must serialise back to the same JSON."""

from __future__ import annotations

from typing import Any

from fhirclient.models.fhirelementfactory import FHIRElementFactory


def validate(resource: dict[str, Any]) -> Any:
    """The parsed resource; raises `FHIRValidationError` for anything R4 does not allow. A Bundle
    validates every resource in it, each by its own type."""
    kind = resource.get("resourceType")
    assert isinstance(kind, str), "no resourceType"
    parsed = FHIRElementFactory.instantiate(kind, resource)
    assert type(parsed).__name__ == kind, f"{kind} is not an R4 resource type"
    assert parsed.as_json() == resource, "the resource does not round-trip through the R4 model"
    return parsed


def resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", [])]
