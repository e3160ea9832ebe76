"""The site pharmacist's pages: the kit inventory, receipts, dispensing and resupply requests.

Everything here is blinded: kits are shown by number, status, expiry and patient, never by
arm, and nothing is counted per arm (counts are by status only, which the arm does not
decide: resupply is raised on the site's total stock and brings every arm back up at once,
so when a request comes and how many kits it holds follow from what the site consumed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, PermissionDenied, TrialkitError
from trialkit.service.platform import audit
from trialkit.service.platform.boundary import listed_ids
from trialkit.service.platform.cache import GrantsKey, LruCache, grants_key
from trialkit.service.platform.listing import Listing, filter_date, filter_int
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    Today,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import (
    DispensingView,
    KitView,
    PatientView,
    ResupplyRequestView,
    SiteView,
)
from trialkit.service.randomisation import inventory, randomisation, supply
from trialkit.service.randomisation.dispensing_check import (
    DispensingCheckView,
    site_dispensing_checks,
)
from trialkit.service.randomisation.dispensings import list_site_dispensings
from trialkit.service.screening import patients
from trialkit.service.trials import trials

__all__ = ["KIT_STATUS", "SiteSupply", "router", "site_supply"]

router = APIRouter()
KIT_STATUS = {
    "depot": N_("at the depot"),
    "reserved": N_("reserved for the site"),
    "in_transit": N_("in transit"),
    "available": N_("available"),
    "dispensed": N_("dispensed"),
    "damaged": N_("damaged"),
    "expired": N_("expired"),
}
"""The words for a kit's status (the inventory's ``status`` column)."""
EXPIRY_DAYS = 60
"""Kits in stock that expire within this many days are pointed out."""


@dataclass(frozen=True)
class Incoming:
    """A shipment on its way to the site: its kits (numbers only)."""

    shipment_id: int
    kits: list[KitView]


@dataclass(frozen=True)
class Treated:
    """A randomised patient of the site, the cycles dispensed so far, and the next one's check."""

    patient: PatientView
    randomisation_number: int
    cycles: list[DispensingView]
    check: DispensingCheckView
    """The service's check of the next cycle today: why not, and whether it may be overridden."""

    @property
    def next_cycle(self) -> int:
        return self.check.next_cycle

    def due_by(self, day: dt.date) -> bool:
        """Whether the next cycle may be dispensed now or falls due by ``day`` (one refused
        now, e.g. not yet due, is dispensed early from the folded list, with a reason)."""
        check = self.check
        return check.allowed or (check.due_on is not None and check.due_on <= day)


@dataclass(frozen=True)
class SiteSupply:
    site: SiteView
    kits: list[KitView]
    by_status: list[tuple[str, int]]
    incoming: list[Incoming]
    kit_patient: dict[int, str]
    treated: list[Treated]
    requests: list[ResupplyRequestView]


_supplies: LruCache[tuple[int, dt.date, str, GrantsKey], SiteSupply] = LruCache(32)
"""Site supply views by site, day, data version and the caller's grants there (per process)."""


def site_supply(session: Session, viewer: Viewer, site_id: int, today: dt.date) -> SiteSupply:
    """The site's kits, shipments, treated patients with their next cycle, and requests.

    Every patient's dispensing check and the site's kits: cached per site, day, data version
    (:func:`~trialkit.service.platform.audit.data_version`) and the caller's grants at the
    site, served only after the caller may see the site.
    """
    actor = viewer.principal
    site = trials.get_site(session=session, actor=actor, site_id=site_id)
    key = (site.id, today, audit.data_version(session), grants_key(actor, site.trial_id, site.id))
    return _supplies.get_or_make(key, lambda: _site_supply(session, actor, site, today))


def _site_supply(session: Session, actor: Principal, site: SiteView, today: dt.date) -> SiteSupply:
    site_id = site.id
    kits = supply.list_site_kits(session=session, actor=actor, site_id=site_id)
    dispensed = list_site_dispensings(session=session, actor=actor, site_id=site_id)
    listed = patients.list_patients(session=session, actor=actor, site_id=site_id)
    numbers = {p.id: p.screening_number for p in listed}
    treated: list[Treated] = []
    by_patient: dict[int, list[DispensingView]] = {}
    for d in dispensed:
        by_patient.setdefault(d.patient_id, []).append(d)
    randomised = randomisation.randomisation_numbers(session=session, actor=actor, site_id=site_id)
    checks = site_dispensing_checks(session=session, actor=actor, site_id=site_id, on_date=today)
    for p in listed:
        if p.id not in by_patient:
            continue  # randomisation dispenses cycle 1: no dispensing, not randomised
        treated.append(Treated(p, randomised[p.id], by_patient[p.id], checks[p.id]))
    shipments: dict[int, list[KitView]] = {}
    for kit in kits:
        if kit.status == "in_transit" and kit.shipment_id is not None:
            shipments.setdefault(kit.shipment_id, []).append(kit)
    requests = [
        r
        for r in supply.list_resupply_requests(session=session, actor=actor, trial_id=site.trial_id)
        if r.site_id == site.id
    ]
    statuses = Counter(k.status for k in kits)
    return SiteSupply(
        site=site,
        kits=kits,
        by_status=sorted(statuses.items()),
        incoming=[Incoming(s, shipments[s]) for s in sorted(shipments)],
        kit_patient={d.kit_number: numbers.get(d.patient_id, "?") for d in dispensed},
        treated=treated,
        requests=list(reversed(requests)),
    )


def _page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    today: dt.date,
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sites = [site_supply(session, viewer, s, today) for s in viewer.site_ids(Role.PHARMACIST)]
    return pages.response(
        "pharmacy/pharmacy.html",
        status_code=status_code,
        viewer=viewer,
        sites=sites,
        kit_status=KIT_STATUS,
        today=today,
        week_end=today + dt.timedelta(days=7),
        expiry_horizon=today + dt.timedelta(days=EXPIRY_DAYS),
        expiring={
            s.site.id: inventory.site_stock(
                session=session,
                actor=viewer.principal,
                site_id=s.site.id,
                expires_by=today + dt.timedelta(days=EXPIRY_DAYS),
            )[1]
            for s in sites
        },
        done=done,
        errors=errors or {},
        values=values or {},
    )


@router.get("/pharmacy", response_class=HTMLResponse)
def pharmacy(
    request: Request, viewer: ViewerDep, session: DbSession, pages: PagesDep, today: Today
) -> HTMLResponse:
    if not viewer.has(Role.PHARMACIST):
        raise PermissionDenied(pages._("The pharmacy pages are for site pharmacists."))
    done = request.query_params.get("done", "")
    known = re.fullmatch(r"(received|dispensed)-\d{1,12}", done)
    return _page(pages, session, viewer, today, done=done if known else None)


@router.post("/pharmacy/shipments/{shipment_id}/receipt", response_class=HTMLResponse)
def receive(
    shipment_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    """Receive a shipment; kits listed as damaged are kept out of stock."""
    key = f"damaged-{shipment_id}"
    raw = form.get("damaged", "").strip()
    damaged, refused = listed_ids(raw)
    errors: dict[str, str] = {}
    if refused is not None:
        errors[key] = pages._(
            "List damaged kits by number, separated by commas (e.g. 1012, 1015); "
            "'%(p)s' is not a kit number."
        ) % {"p": refused}
    if not errors:
        try:
            supply.receive_shipment(
                session=session,
                actor=viewer.principal,
                shipment_id=shipment_id,
                damaged=damaged,
                today=today,
            )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            errors[key] = exc.message
        else:
            return RedirectResponse(f"/pharmacy?done=received-{shipment_id}", status_code=303)
    raise FormRejected(
        _page(pages, session, viewer, today, errors=errors, values={key: raw}, status_code=422)
    )


@router.post("/pharmacy/dispensings", response_class=HTMLResponse)
def dispense(
    form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep, today: Today
) -> Response:
    """Dispense the kit of a later cycle to a randomised patient of the site.

    The service checks the dispensing
    (:func:`~trialkit.service.randomisation.dispensing_check.check_dispensing`); its refusal is
    shown next to the cycle, and one it allows to override is overridden by the reason the
    pharmacist documents in ``override_reason``.
    """
    errors: dict[str, str] = {}
    try:
        patient_id = int(form.get("patient_id", ""))
    except ValueError:
        patient_id = 0
    key = f"cycle-{patient_id}"
    try:
        cycle = int(form.get("cycle", "").strip())
    except ValueError:
        cycle = 0
        errors[key] = pages._("Enter the treatment cycle as a whole number, 2 or more.")
    if patient_id < 1:
        errors["form"] = pages._("Choose the patient to dispense to.")
    if not errors:
        try:
            done = supply.dispense(
                session=session,
                actor=viewer.principal,
                patient_id=patient_id,
                cycle=cycle,
                on_date=today,
                override_reason=form.get("override_reason", ""),
            )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            errors[f"override-{patient_id}" if exc.location == "override_reason" else key] = (
                exc.message
            )
        else:
            return RedirectResponse(
                f"/pharmacy?done=dispensed-{done.kit_number}#patient-{patient_id}",
                status_code=303,
            )
    raise FormRejected(
        _page(
            pages,
            session,
            viewer,
            today,
            errors=errors,
            values={
                key: form.get("cycle", ""),
                f"override-{patient_id}": form.get("override_reason", ""),
            },
            status_code=422,
        )
    )


# --- the kit inventory, a page at a time ---------------------------------------------------


@router.get("/pharmacy/kits", response_class=HTMLResponse)
def kits(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    """The site's kits: by status, number and expiry, sorted and paged in the address."""
    site_ids = viewer.site_ids(Role.PHARMACIST)
    if not site_ids:
        raise PermissionDenied(pages._("The pharmacy pages are for site pharmacists."))
    listing = Listing.from_params(
        request.query_params,
        sorts=tuple(inventory.KIT_SORTS),
        default_sort="number",
        filters=("site", "status", "number", "expires_by"),
    )
    sites = [trials.get_site(session=session, actor=viewer.principal, site_id=i) for i in site_ids]
    chosen = next((s for s in sites if s.code == listing.filters.get("site")), sites[0])
    status = listing.filters.get("status")
    found = inventory.search_site_kits(
        session=session,
        actor=viewer.principal,
        site_id=chosen.id,
        listing=listing,
        status=status if status in KIT_STATUS else None,
        number=filter_int(listing, "number"),
        expires_by=filter_date(listing, "expires_by"),
    )
    dispensed = list_site_dispensings(session=session, actor=viewer.principal, site_id=chosen.id)
    shown = {k.number for k in found.items}
    patient_ids = {d.patient_id for d in dispensed if d.kit_number in shown}
    numbers = {
        p.id: p.screening_number
        for p in patients.list_patients(session=session, actor=viewer.principal, site_id=chosen.id)
        if p.id in patient_ids
    }
    return pages.response(
        "pharmacy/kits.html",
        viewer=viewer,
        site=chosen,
        found=found,
        filters={"site": chosen.code, **listing.filters},
        site_options=[(s.code, f"{s.code} · {s.name}") for s in sites],
        status_options=[(k, pages._(v)) for k, v in KIT_STATUS.items()],
        kit_status=KIT_STATUS,
        kit_patient={
            d.kit_number: numbers.get(d.patient_id, "") for d in dispensed if d.kit_number in shown
        },
        today=today,
    )
