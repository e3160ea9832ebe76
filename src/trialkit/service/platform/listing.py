"""One way to list: search, filters, sorting and pagination, done in the database.

Every list page (patients, queries, kits, shipments, audit events, users, sites) reads a
:class:`Listing` from the address and gets a :class:`ListPage` back, whose links keep the
filters, so that any view of a list can be shared as a link.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from trialkit.errors import InputError

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "ListPage",
    "Listing",
    "Sortable",
    "filter_date",
    "filter_int",
    "list_page",
    "page_of",
]

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
T = TypeVar("T")
Sortable = ColumnElement[Any] | InstrumentedAttribute[Any]
"""A column a list may be sorted by."""


def filter_date(listing: Listing, name: str) -> dt.date | None:
    """A date filter of the listing (empty: none); a bad one is refused naming the filter."""
    value = listing.filters.get(name)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name}: enter a date as YYYY-MM-DD, not {value!r}") from None


def filter_int(listing: Listing, name: str) -> int | None:
    """A whole-number filter of the listing (empty: none); a bad one is refused naming it."""
    value = listing.filters.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 12:
        raise InputError(f"{name}: enter a whole number, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Listing:
    """What the user asked of a list: page, page size, order and the filters (as in the address).

    ``sort`` names a column the list offers; a leading ``-`` orders it descending.
    """

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    default_per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, str],
        *,
        sorts: Sequence[str],
        default_sort: str,
        filters: Sequence[str] = (),
        per_page: int = DEFAULT_PER_PAGE,
    ) -> Listing:
        """Read the listing from the query string; what is unknown or out of range is ignored."""
        page = params.get("page", "")
        size = params.get("per_page", "")
        sort = params.get("sort", "")
        if sort.removeprefix("-") not in sorts:
            sort = default_sort
        return cls(
            page=int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1,
            per_page=(
                min(int(size), MAX_PER_PAGE) if size.isdigit() and int(size) > 0 else per_page
            ),
            default_per_page=per_page,
            sort=sort,
            filters={
                name: params[name].strip() for name in filters if params.get(name, "").strip()
            },
        )

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def sort_key(self) -> str:
        return self.sort.removeprefix("-")

    def query_string(self, **changes: Any) -> str:
        """The address's query string of this listing with ``changes`` (page=2, sort="-seq")."""
        values: dict[str, Any] = {**self.filters, "sort": self.sort}
        if self.page != 1:
            values["page"] = self.page
        if self.per_page != self.default_per_page:
            values["per_page"] = self.per_page
        values.update(changes)
        if values.get("page") == 1:
            del values["page"]
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def sort_link(self, key: str) -> str:
        """The query string that sorts by ``key``: ascending first, descending on a second click."""
        return self.query_string(sort=f"-{key}" if self.sort == key else key, page=1)

    def with_page(self, page: int) -> Listing:
        return replace(self, page=page)


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list: its rows, how many match in all, and the listing that made it."""

    items: list[T]
    total: int
    listing: Listing

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.listing.per_page))

    @property
    def first(self) -> int:
        """The number of the first row shown (1-based; 0 when none)."""
        return 0 if not self.items else (self.listing.page - 1) * self.listing.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def previous(self) -> str | None:
        page = min(self.listing.page, self.pages + 1) - 1
        return self.listing.query_string(page=page) if page >= 1 else None

    @property
    def next(self) -> str | None:
        page = self.listing.page + 1
        return self.listing.query_string(page=page) if page <= self.pages else None

    def page_link(self, page: int) -> str:
        return self.listing.query_string(page=page)


def list_page(
    session: Session,
    query: Select[T],
    listing: Listing,
    *,
    sort_columns: Mapping[str, Sortable],
    tiebreak: Sortable,
) -> ListPage[T]:
    """Run ``query`` for one page: counted, ordered by the listing's column (then ``tiebreak``).

    ``tiebreak`` (a unique column) keeps the order stable between pages; it runs in the
    direction of the chosen column.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    column = sort_columns[listing.sort_key]
    ordering = [column.desc(), tiebreak.desc()] if listing.descending else [column, tiebreak]
    offset = (listing.page - 1) * listing.per_page
    rows = session.scalars(query.order_by(*ordering).offset(offset).limit(listing.per_page))
    return ListPage(items=list(rows.all()), total=total, listing=listing)


def page_of(
    items: Sequence[T], listing: Listing, *, sort_keys: Mapping[str, Callable[[T], Any]]
) -> ListPage[T]:
    """One page of a list already read (a site's patients, whose status is derived, not stored).

    The same listing as :func:`list_page`: sorted by the chosen key (its order kept for ties),
    then cut to the page.
    """
    ordered = sorted(items, key=sort_keys[listing.sort_key], reverse=listing.descending)
    start = (listing.page - 1) * listing.per_page
    return ListPage(
        items=ordered[start : start + listing.per_page], total=len(ordered), listing=listing
    )
