"""Who may call what: one table of every route's access policy, refused by default.

Every API route is named here by its method and path template with the roles it admits. The guard
(`gateway.api.security.guard`, an app-wide dependency) looks the matched route up on every
request: a route missing from the table is refused whatever the token says, so a new route that
forgets its policy fails closed (and fails `tests/gateway/api/test_policy.py`, which walks the
app's routes). Public routes are the short allow-list below; every other route needs a verified
bearer token whose role is listed, and its queries are scoped to the token's tenant.

`audit_read` marks routes that serve an elder's health data: each call is recorded in the audit
trail (who, role, tenant, client, which patient or resource) before the data is served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.actor import Role

__all__ = ["POLICY", "PUBLIC_PATHS", "Access", "access_for"]


@dataclass(frozen=True, slots=True)
class Access:
    """The roles a route admits (empty and `public`: anyone, no token)."""

    roles: frozenset[Role] = frozenset()
    public: bool = False
    audit_read: bool = False

    def __post_init__(self) -> None:
        if self.public == bool(self.roles):
            raise ValueError("a route is either public or admits at least one role")
        if Role.SYSTEM in self.roles:
            raise ValueError("the gateway's own role is never given to a caller")


def _roles(*roles: Role, audit_read: bool = False) -> Access:
    return Access(frozenset(roles), audit_read=audit_read)


PUBLIC = Access(public=True)
C, CARDIO, ADMIN, AUDITOR, OPS = (
    Role.CLINICIAN, Role.CARDIOLOGIST, Role.ADMIN, Role.AUDITOR, Role.OPERATOR,
)  # fmt: skip
SIGNED_IN = _roles(C, CARDIO, ADMIN, AUDITOR, OPS)
CLINICAL = _roles(C)
HEALTH_READ = _roles(C, audit_read=True)
TENANT_ADMIN = _roles(ADMIN)

# (method, path template) -> access. Keep it sorted by path; one line per route.
POLICY: Mapping[tuple[str, str], Access] = {
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("GET", "/alerts"): HEALTH_READ,
    ("GET", "/alerts/{alert_id}"): HEALTH_READ,
    ("POST", "/alerts/{alert_id}/ack"): CLINICAL,
    ("POST", "/alerts/{alert_id}/arrive"): CLINICAL,
    ("POST", "/alerts/{alert_id}/assign"): CLINICAL,
    ("GET", "/alerts/{alert_id}/brief"): HEALTH_READ,
    ("GET", "/alerts/{alert_id}/audit"): _roles(C, AUDITOR),
    ("POST", "/alerts/{alert_id}/comment"): CLINICAL,
    ("POST", "/alerts/{alert_id}/dispatch"): CLINICAL,
    ("POST", "/alerts/{alert_id}/escalate"): CLINICAL,
    ("POST", "/alerts/{alert_id}/refer"): CLINICAL,
    ("POST", "/alerts/{alert_id}/resolve"): CLINICAL,
    ("POST", "/alerts/{alert_id}/review"): CLINICAL,
    ("POST", "/alerts/{alert_id}/snooze"): CLINICAL,
    ("GET", "/audit"): _roles(AUDITOR),
    ("POST", "/auth/logout"): SIGNED_IN,
    ("GET", "/auth/me"): SIGNED_IN,
    ("POST", "/auth/token"): PUBLIC,
    ("GET", "/consult/centres"): _roles(C, CARDIO, ADMIN),
    ("PUT", "/consult/centres/{centre_id}"): TENANT_ADMIN,
    ("GET", "/consult/figures"): _roles(C, CARDIO),
    ("GET", "/consult/findings"): _roles(C, CARDIO),
    ("GET", "/consult/requests"): _roles(C, CARDIO, audit_read=True),
    ("POST", "/consult/requests"): CLINICAL,
    ("GET", "/consult/requests/{request_id}"): _roles(C, CARDIO, audit_read=True),
    ("POST", "/consult/requests/{request_id}/amend"): _roles(CARDIO),
    ("POST", "/consult/requests/{request_id}/claim"): _roles(CARDIO),
    ("GET", "/consult/requests/{request_id}/fhir"): _roles(C, CARDIO, audit_read=True),
    ("GET", "/consult/requests/{request_id}/print"): _roles(C, CARDIO, audit_read=True),
    ("POST", "/consult/requests/{request_id}/receipt"): CLINICAL,
    ("POST", "/consult/requests/{request_id}/release"): _roles(CARDIO),
    ("POST", "/consult/requests/{request_id}/report"): _roles(CARDIO),
    ("GET", "/deadletters"): _roles(ADMIN, OPS, audit_read=True),
    ("GET", "/devices"): _roles(C, ADMIN, OPS),  # the patient page shows each elder's devices
    ("POST", "/devices"): TENANT_ADMIN,
    ("GET", "/devices/{device_id}"): _roles(C, ADMIN, OPS),
    ("POST", "/devices/{device_id}/bind"): TENANT_ADMIN,
    ("POST", "/devices/{device_id}/retire"): TENANT_ADMIN,
    ("GET", "/emergencies/figures"): _roles(C, ADMIN, AUDITOR),
    ("GET", "/fhir/Observation"): HEALTH_READ,
    ("GET", "/fhir/Patient/{patient_id}"): HEALTH_READ,
    ("GET", "/fhir/Patient/{patient_id}/$everything"): HEALTH_READ,
    ("GET", "/fhir/Patient/{patient_id}/$summary"): HEALTH_READ,
    ("GET", "/followups"): _roles(C, ADMIN, audit_read=True),
    ("POST", "/followups/{task_id}/done"): CLINICAL,
    ("GET", "/followups/{task_id}/fhir"): HEALTH_READ,
    ("GET", "/health"): PUBLIC,
    ("GET", "/history/{patient_id}/latest"): HEALTH_READ,
    ("GET", "/history/{patient_id}/readings"): HEALTH_READ,
    ("GET", "/metrics"): _roles(OPS),
    ("GET", "/patients"): _roles(C, ADMIN),
    ("GET", "/patients/{patient_id}"): _roles(C, ADMIN),
    ("PUT", "/patients/{patient_id}"): TENANT_ADMIN,
    ("GET", "/patients/{patient_id}/consent"): _roles(C, ADMIN),
    ("PUT", "/patients/{patient_id}/consent"): _roles(C, ADMIN),
    ("GET", "/patients/{patient_id}/ecg/chunks"): HEALTH_READ,
    ("GET", "/patients/{patient_id}/ecg/strip"): HEALTH_READ,
    ("GET", "/patients/{patient_id}/glycaemia"): HEALTH_READ,
    ("GET", "/patients/{patient_id}/limits"): _roles(C, ADMIN),
    ("PUT", "/patients/{patient_id}/targets"): CLINICAL,
    ("GET", "/queue"): HEALTH_READ,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/referrals"): HEALTH_READ,
    ("GET", "/referrals/{referral_id}"): HEALTH_READ,
    ("POST", "/referrals/{referral_id}/{action}"): CLINICAL,
    ("GET", "/referrals/{referral_id}/fhir"): HEALTH_READ,
    ("GET", "/results-notices"): _roles(C, ADMIN, audit_read=True),
    ("GET", "/rosters"): _roles(C, ADMIN),
    ("GET", "/rosters/coverage"): _roles(C, ADMIN),
    ("PUT", "/rosters/members/{member_id}"): TENANT_ADMIN,
    ("PUT", "/rosters/patients/{patient_id}/emergency-contacts"): TENANT_ADMIN,
    ("PUT", "/rosters/rotations/{rotation_id}"): TENANT_ADMIN,
    ("GET", "/rosters/rotations/{rotation_id}/on-call"): _roles(C, ADMIN),
    ("PUT", "/rosters/teams/{team_id}"): TENANT_ADMIN,
    ("DELETE", "/rosters/{part}/{key}"): TENANT_ADMIN,
    ("GET", "/stream/alerts"): _roles(C),
}

# Routes that are not API operations: the OpenAPI documents and the dashboard's static files
# (code and texts, no data). Everything else is an API route and must be in `POLICY`.
PUBLIC_PATHS = frozenset(
    {"/", "/ui", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/docs-assets"}
)


def access_for(method: str, path: str) -> Access | None:
    """The policy of a route (HEAD is read as GET), or None: refused."""
    return POLICY.get(("GET" if method == "HEAD" else method, path))
