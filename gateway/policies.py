"""Escalation policy files: one per tenant, TOML (or YAML/JSON), read once at start-up."""

from __future__ import annotations

from pathlib import Path

from alerts.policy import EscalationPolicy, PolicyError, parse_policy_text

SUFFIXES = (".toml", ".yaml", ".yml", ".json")


def load_policy(path: str | Path) -> EscalationPolicy:
    """One policy file; the format follows the extension."""
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower()
    try:
        return parse_policy_text(p.read_text(encoding="utf-8"), fmt)
    except PolicyError as exc:
        raise PolicyError(f"{p}: {exc.path}", exc.detail) from exc


def load_policies(path: str | Path) -> dict[str, EscalationPolicy]:
    """A policy file, or a directory of them, keyed by tenant (one policy per tenant)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix in SUFFIXES) if p.is_dir() else [p]
    out: dict[str, EscalationPolicy] = {}
    for f in files:
        policy = load_policy(f)
        if policy.tenant in out:
            raise PolicyError(str(f), f"second policy for tenant {policy.tenant!r}")
        out[policy.tenant] = policy
    return out
