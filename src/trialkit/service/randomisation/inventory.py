"""A site's kit inventory as a list to search: by number, status and expiry, a page at a time.

Blinded like the rest of supply: a kit is its number, status, expiry and shipment, never its arm.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.service.platform.listing import Listing, ListPage, Sortable, list_page
from trialkit.service.platform.policy import Action, site_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import KitView
from trialkit.service.randomisation.tables.supply import InventoryKit

__all__ = ["KIT_SORTS", "search_site_kits", "site_stock"]

KIT_SORTS: dict[str, Sortable] = {
    "number": InventoryKit.number,
    "expiry": InventoryKit.expiry,
    "status": InventoryKit.status,
    "shipment": InventoryKit.shipment_id,
}


def search_site_kits(
    *,
    session: Session,
    actor: Principal,
    site_id: int,
    listing: Listing,
    status: str | None = None,
    number: int | None = None,
    expires_by: dt.date | None = None,
) -> ListPage[KitView]:
    """One page of the site's kits, filtered by status, number and expiry (on or before)."""
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_SUPPLY)
    query = select(InventoryKit).where(InventoryKit.site_id == site.id)
    if status:
        query = query.where(InventoryKit.status == status)
    if number is not None:
        query = query.where(InventoryKit.number == number)
    if expires_by is not None:
        query = query.where(InventoryKit.expiry <= expires_by)
    found = list_page(session, query, listing, sort_columns=KIT_SORTS, tiebreak=InventoryKit.id)
    kits = [
        KitView(
            number=k.number,
            site_id=k.site_id,
            expiry=k.expiry,
            status=k.status,
            shipment_id=k.shipment_id,
        )
        for k in found.items
    ]
    return ListPage(items=kits, total=found.total, listing=listing)


def site_stock(
    *, session: Session, actor: Principal, site_id: int, expires_by: dt.date
) -> tuple[Counter[str], int]:
    """The site's kits by status, and how many kits in stock expire on or before ``expires_by``."""
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_SUPPLY)
    rows = session.execute(
        select(InventoryKit.status, func.count().label("kits"))
        .where(InventoryKit.site_id == site.id)
        .group_by(InventoryKit.status)
    )
    by_status: Counter[str] = Counter({row.status: row.kits for row in rows})
    expiring = session.scalar(
        select(func.count()).where(
            InventoryKit.site_id == site.id,
            InventoryKit.status == "available",
            InventoryKit.expiry <= expires_by,
        )
    )
    return by_status, expiring or 0
