"""Randomisation, emergency unblinding, blinded drug supply and randomisation reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, SecurityDep, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import DispensingCreate, ShipmentReceipt, UnblindingBody
from trialkit.service.platform.policy import Action
from trialkit.service.platform.views import (
    AllocationAuditView,
    ArmBalanceRow,
    DispensingView,
    EmergencyUnblindingView,
    EnrolmentRow,
    KitView,
    RandomisationView,
    ResupplyRequestView,
    ShipmentView,
    UnblindedRandomisationView,
)
from trialkit.service.randomisation import dispensing_check as check_service
from trialkit.service.randomisation import randomisation, reports, supply
from trialkit.service.randomisation.dispensing_check import DispensingCheckView
from trialkit.service.randomisation.dispensings import list_site_dispensings

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["randomisation"])
# the unblinded view first: a blinded view validates as itself and never gains an arm
AnyRandomisation = UnblindedRandomisationView | RandomisationView


@router.post(
    "/patients/{patient_id}/randomisation",
    dependencies=[requires(Action.RANDOMISE)],
    response_model=AnyRandomisation,
    status_code=status.HTTP_201_CREATED,
)
def randomise(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today
) -> RandomisationView:
    """Randomise an eligible, consented patient: number, kit, background therapy, calendar."""
    return randomisation.randomise(
        session=session, actor=actor, patient_id=patient_id, on_date=today
    )


@router.get(
    "/patients/{patient_id}/randomisation",
    dependencies=[requires(Action.VIEW_RANDOMISATION)],
    response_model=AnyRandomisation,
)
def get_randomisation(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> RandomisationView:
    return randomisation.get_randomisation(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/unblinding",
    dependencies=[requires(Action.EMERGENCY_UNBLIND)],
    response_model=EmergencyUnblindingView,
    responses={401: {"description": "Wrong password (counts towards the lock-out) or locked"}},
)
def emergency_unblind(
    patient_id: Id,
    body: UnblindingBody,
    session: DbSession,
    security: SecurityDep,
    actor: CurrentPrincipal,
) -> EmergencyUnblindingView:
    """Emergency unblinding of one own patient (password re-entered, reason; recorded)."""
    return randomisation.emergency_unblind(
        session=session,
        security=security,
        actor=actor,
        patient_id=patient_id,
        password=body.password,
        reason=body.reason,
    )  # a wrong password raises PasswordRefusedError: committed (count, audit), then a 401


@router.post(
    "/patients/{patient_id}/dispensings",
    dependencies=[requires(Action.HANDLE_KITS)],
    response_model=DispensingView,
    status_code=status.HTTP_201_CREATED,
)
def dispense(
    patient_id: Id,
    body: DispensingCreate,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
) -> DispensingView:
    """Dispense the kit of a later cycle (the pharmacist; the arm is never shown)."""
    return supply.dispense(
        session=session,
        actor=actor,
        patient_id=patient_id,
        cycle=body.cycle,
        on_date=today,
        override_reason=body.override_reason,
    )


@router.get(
    "/patients/{patient_id}/dispensing-check",
    dependencies=[requires(Action.HANDLE_KITS)],
    response_model=DispensingCheckView,
)
def dispensing_check(
    patient_id: Id,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
    cycle: Annotated[int | None, Query(ge=2, le=1000)] = None,
) -> DispensingCheckView:
    """Whether the kit of ``cycle`` (default: the next) may be dispensed today, and if not, why."""
    return check_service.dispensing_check(
        session=session, actor=actor, patient_id=patient_id, cycle=cycle, on_date=today
    )


@router.get(
    "/sites/{site_id}/kits",
    dependencies=[requires(Action.VIEW_SUPPLY)],
    response_model=list[KitView],
)
def list_site_kits(site_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[KitView]:
    return supply.list_site_kits(session=session, actor=actor, site_id=site_id)


@router.get(
    "/sites/{site_id}/dispensings",
    dependencies=[requires(Action.VIEW_SUPPLY)],
    response_model=list[DispensingView],
)
def site_dispensings(
    site_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[DispensingView]:
    """Which kit went to which patient at the site, by patient then cycle (kit numbers only)."""
    return list_site_dispensings(session=session, actor=actor, site_id=site_id)


@router.get(
    "/trials/{trial_id}/resupply-requests",
    dependencies=[requires(Action.VIEW_SUPPLY)],
    response_model=list[ResupplyRequestView],
)
def list_resupply_requests(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[ResupplyRequestView]:
    return supply.list_resupply_requests(session=session, actor=actor, trial_id=trial_id)


@router.post(
    "/resupply-requests/{request_id}/shipment",
    dependencies=[requires(Action.MANAGE_SUPPLY)],
    response_model=ShipmentView,
    status_code=status.HTTP_201_CREATED,
)
def ship_resupply(
    request_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today
) -> ShipmentView:
    """Ship a resupply request's kits from the depot (the sponsor)."""
    return supply.ship_resupply(session=session, actor=actor, request_id=request_id, today=today)


@router.post(
    "/shipments/{shipment_id}/receipt",
    dependencies=[requires(Action.HANDLE_KITS)],
    response_model=ShipmentView,
)
def receive_shipment(
    shipment_id: Id,
    body: ShipmentReceipt,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
) -> ShipmentView:
    """The site pharmacist's receipt of a shipment (damaged kits listed)."""
    return supply.receive_shipment(
        session=session, actor=actor, shipment_id=shipment_id, damaged=body.damaged, today=today
    )


@router.get(
    "/trials/{trial_id}/reports/enrolment",
    dependencies=[requires(Action.VIEW_ENROLMENT)],
    response_model=list[EnrolmentRow],
)
def enrolment_report(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[EnrolmentRow]:
    """Randomised patients by month, site, country and stratum (blinded)."""
    return reports.enrolment(session=session, actor=actor, trial_id=trial_id)


@router.get(
    "/trials/{trial_id}/reports/arm-balance",
    dependencies=[requires(Action.VIEW_ARMS)],
    response_model=list[ArmBalanceRow],
)
def arm_balance_report(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[ArmBalanceRow]:
    """Patients per arm in each stratum (unblinded statistician and DSMB only)."""
    return reports.arm_balance(session=session, actor=actor, trial_id=trial_id)


@router.get(
    "/trials/{trial_id}/allocation-audit",
    dependencies=[requires(Action.AUDIT_ALLOCATION)],
    response_model=AllocationAuditView,
)
def allocation_audit(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal
) -> AllocationAuditView:
    """Every slot of the sealed list in order with who took it, the list's hash and the
    verification's verdict (unblinded statistician and DSMB only; recorded in the audit trail)."""
    return reports.allocation_audit(session=session, actor=actor, trial_id=trial_id, output="api")
