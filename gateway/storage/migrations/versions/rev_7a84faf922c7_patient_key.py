"""patients keyed by (tenant, patient id)

Two tenants may both have a patient "p-001". The patients table's primary key becomes
(tenant, patient_id); device bindings gain the tenant (their device's) and, like emergency
contacts, refer to the patient by both columns; the readings and alerts indexes lead with the
tenant. A binding or contact whose patient had no row of its own tenant (possible before: a
patient id was global) gets a bare patient row, so no binding or contact is lost.

SQLite rebuilds the three tables in batch mode; PostgreSQL alters them in place.

Revision ID: 7a84faf922c7
Revises: b8e3a5c1d7f9
Create Date: 2026-12-04 11:40:00
"""

import warnings
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from gateway.storage.utc import UTCDateTime

revision: str = "7a84faf922c7"
down_revision: str | None = "b8e3a5c1d7f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["tenant", "patient_id"]
PATIENTS = sa.table(
    "patients",
    sa.column("tenant", sa.String()),
    sa.column("patient_id", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("targets", sa.JSON()),
    sa.column("lives_alone", sa.Boolean()),
    sa.column("disability", sa.Boolean()),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _patient_primary_key(columns: list[str]) -> None:
    """Rebuild the patients table's primary key on `columns`."""
    if _sqlite():
        # Batch mode copies the table into one whose key is the new one; SQLAlchemy notes that
        # the copied columns' own key flags differ from the new key, which is the point.
        with (
            warnings.catch_warnings(),
            op.batch_alter_table("patients", recreate="always") as batch,
        ):
            warnings.filterwarnings("ignore", "Table '_alembic_tmp_patients' specifies columns")
            batch.create_primary_key("pk_patients", columns)
        return
    op.drop_constraint("patients_pkey", "patients", type_="primary")
    op.create_primary_key("patients_pkey", "patients", columns)


def _orphans() -> list[dict[str, object]]:
    """(tenant, patient) pairs named by a binding or an emergency contact without a row."""
    found = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT t.tenant, t.patient_id FROM ("
            " SELECT d.tenant AS tenant, b.patient_id AS patient_id"
            " FROM device_bindings b JOIN devices d ON d.device_id = b.device_id"
            " UNION SELECT tenant, patient_id FROM emergency_contacts) t"
            " WHERE NOT EXISTS (SELECT 1 FROM patients p"
            " WHERE p.tenant = t.tenant AND p.patient_id = t.patient_id)"
        )
    )
    now = datetime.now(UTC)
    return [
        {"tenant": tenant, "patient_id": pid, "created_at": now, "targets": {},
         "lives_alone": False, "disability": False}
        for tenant, pid in found
    ]  # fmt: skip


def upgrade() -> None:
    _patient_primary_key(KEY)
    op.drop_index("ix_patients_tenant", table_name="patients")

    with op.batch_alter_table("device_bindings") as batch:
        batch.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE device_bindings SET tenant = "
        "(SELECT d.tenant FROM devices d WHERE d.device_id = device_bindings.device_id)"
    )
    if missing := _orphans():
        op.bulk_insert(PATIENTS, missing)

    op.drop_index("ix_device_bindings_patient_id", table_name="device_bindings")
    with op.batch_alter_table("device_bindings") as batch:
        batch.alter_column("tenant", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_device_bindings_patient", KEY)
        batch.create_foreign_key("fk_device_bindings_patient", "patients", KEY, KEY)

    op.drop_index("ix_emergency_contacts_patient_id", table_name="emergency_contacts")
    with op.batch_alter_table("emergency_contacts") as batch:
        batch.create_index("ix_emergency_contacts_patient", KEY)
        batch.create_foreign_key("fk_emergency_contacts_patient", "patients", KEY, KEY)

    # Index changes only: no table copy, even on SQLite (readings may be large).
    op.drop_index("ix_readings_patient_kind_ts", table_name="readings")
    op.create_index("ix_readings_patient_kind_ts", "readings", [*KEY, "kind", "ts"])
    op.drop_index("ix_alerts_patient_state", table_name="alerts")
    op.create_index("ix_alerts_patient_state", "alerts", [*KEY, "state"])


def downgrade() -> None:
    """Back to a global patient id: refused (by the primary key) when two tenants share one."""
    op.drop_index("ix_alerts_patient_state", table_name="alerts")
    op.create_index("ix_alerts_patient_state", "alerts", ["patient_id", "state"])
    op.drop_index("ix_readings_patient_kind_ts", table_name="readings")
    op.create_index("ix_readings_patient_kind_ts", "readings", ["patient_id", "kind", "ts"])

    with op.batch_alter_table("emergency_contacts") as batch:
        batch.drop_constraint("fk_emergency_contacts_patient", type_="foreignkey")
        batch.drop_index("ix_emergency_contacts_patient")
    op.create_index("ix_emergency_contacts_patient_id", "emergency_contacts", ["patient_id"])

    with op.batch_alter_table("device_bindings") as batch:
        batch.drop_constraint("fk_device_bindings_patient", type_="foreignkey")
        batch.drop_index("ix_device_bindings_patient")
        batch.drop_column("tenant")
    op.create_index("ix_device_bindings_patient_id", "device_bindings", ["patient_id"])

    op.create_index("ix_patients_tenant", "patients", ["tenant"])
    _patient_primary_key(["patient_id"])
