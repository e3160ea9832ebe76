"""The demo trial's sites: Milano (the registry's coordinating centre) and labelled demo centres.

The registry record names only the coordinating centre; every other site here is a placeholder,
named "Demo centre ..." so that nobody mistakes it for a real participating hospital.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["DEMO_SITES", "DemoSite", "recruiting_sites"]


@dataclass(frozen=True)
class DemoSite:
    """A site of the demo trial and when (and how fast) it recruits.

    ``recruits_from`` is the first day the site screens (its activation, some weeks after its
    ethics approval); ``rate`` its relative screening rate once ramped up. A site without an
    approval date, or with ``activate`` false, never recruits (it shows the service's refusal).
    """

    code: str
    name: str
    city: str
    country: str
    coordinating: bool = False
    committee: str | None = None
    approval_date: dt.date | None = None
    activate: bool = False
    recruits_from: dt.date | None = None
    rate: float = 1.0


def _demo(code: str, country: str, city: str, approved: str, starts: str, rate: float) -> DemoSite:
    names = {"DE": "Germany", "IT": "Italy", "PL": "Poland", "RU": "Russian Federation"}
    return DemoSite(
        code,
        f"Demo centre {names[country]} {code[-1]} ({city})",
        city,
        country,
        committee=f"Demo ethics committee ({city})",
        approval_date=dt.date.fromisoformat(approved),
        activate=True,
        recruits_from=dt.date.fromisoformat(starts),
        rate=rate,
    )


DEMO_SITES: tuple[DemoSite, ...] = (
    DemoSite(
        "IT01",
        "Fondazione IRCC Istituto Nazionale Tumori di Milano",
        "Milano",
        "IT",
        coordinating=True,
        committee="Independent Ethics Committee of the Istituto Nazionale Tumori of Milano",
        approval_date=dt.date(2007, 6, 20),
        activate=True,
        recruits_from=dt.date(2007, 11, 22),
        rate=1.6,
    ),
    _demo("IT02", "IT", "Napoli", "2007-10-17", "2007-12-10", 1.0),
    _demo("DE01", "DE", "Berlin", "2007-09-12", "2007-12-03", 1.1),
    _demo("DE02", "DE", "München", "2007-12-05", "2008-02-18", 0.9),
    _demo("PL01", "PL", "Warszawa", "2007-10-03", "2008-01-14", 1.0),
    _demo("PL02", "PL", "Kraków", "2008-01-23", "2008-04-07", 0.8),
    _demo("RU01", "RU", "Moskva", "2008-02-20", "2008-05-05", 1.2),
    _demo("RU02", "RU", "Sankt-Peterburg", "2008-04-16", "2008-07-01", 0.9),
    # added late: approved, not yet activated by the sponsor (screening there is refused)
    DemoSite(
        "DE03",
        "Demo centre Germany 3 (Hamburg)",
        "Hamburg",
        "DE",
        committee="Demo ethics committee (Hamburg)",
        approval_date=dt.date(2009, 11, 4),
    ),
)


def recruiting_sites(sites: tuple[DemoSite, ...] = DEMO_SITES) -> tuple[DemoSite, ...]:
    """The sites that screen patients in the demo (approved, activated, with a start date)."""
    return tuple(s for s in sites if s.activate and s.approval_date and s.recruits_from is not None)
