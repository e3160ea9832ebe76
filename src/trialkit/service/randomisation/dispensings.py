"""Which kit went to which patient, for the site's pharmacist (kit numbers only, never the arm)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.platform.policy import Action, site_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import DispensingView
from trialkit.service.randomisation.supply import dispensing_view
from trialkit.service.randomisation.tables.supply import Dispensing, InventoryKit
from trialkit.service.screening.tables import Patient

__all__ = ["list_site_dispensings"]


def list_site_dispensings(
    *, session: Session, actor: Principal, site_id: int
) -> list[DispensingView]:
    """Every dispensing to the site's patients, by patient then cycle (another site: absent)."""
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_SUPPLY)
    rows = session.execute(
        select(Dispensing, InventoryKit.number)
        .join(InventoryKit, InventoryKit.id == Dispensing.kit_id)
        .join(Patient, Patient.id == Dispensing.patient_id)
        .where(Patient.site_id == site.id)
        .order_by(Dispensing.patient_id, Dispensing.cycle)
    ).all()
    return [dispensing_view(row, number) for row, number in rows]
