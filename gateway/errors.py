"""Why an action was not taken, as data: the API maps each kind to one HTTP status.

Raised by the action modules (`gateway.flow.actions`, `gateway.admin`); routes never build HTTP
errors for these cases themselves.
"""

from __future__ import annotations


class ActionError(Exception):
    """Base of the reasons an action is not taken."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(ActionError):
    """The subject does not exist (or is not visible to the actor)."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(ActionError):
    """The subject exists but its state does not allow the action (e.g. already resolved)."""


class InvalidError(ActionError):
    """The request names something impossible (an unknown member, a bad threshold, ...).

    `fields` names the offending input fields when known.
    """

    def __init__(self, detail: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.fields = fields


class UnavailableError(ActionError):
    """Nobody who may take the action answered, and it was not taken: in the scaled-out API
    role, no worker owns the patient's partition now (being handed over, or none running), or
    the owner could not store it. Safe to try again after `retry_after_s`."""

    def __init__(self, detail: str, retry_after_s: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class OwnerTimeoutError(ActionError):
    """The action was handed to the worker that owns the patient's partition, which did not
    answer in time: it may or may not have been applied (read the alert before trying again)."""
