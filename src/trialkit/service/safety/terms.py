"""Terms for adverse events: the shipped CTCAE v5.0 list, and the MedDRA release the sponsor
licenses, imported from its ASCII files (one release at a time; no MedDRA content is shipped)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trialkit.errors import InputError
from trialkit.safety import load_meddra
from trialkit.service.platform import audit
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.safety.tables import MeddraTerm

__all__ = ["check_meddra_code", "import_meddra", "meddra_version", "search_meddra"]


def import_meddra(
    *, session: Session, actor: Principal, folder: Path, version: str = ""
) -> tuple[str, int]:
    """Replace the imported MedDRA release by the one in ``folder`` (its ``llt.asc``,
    ``pt.asc``, ``soc.asc``); returns (version, lowest level terms). Audited."""
    authorize(actor, Action.MANAGE_TRIAL, trial_id=None)
    release = load_meddra(folder, version=version)
    previous = meddra_version(session)
    session.execute(delete(MeddraTerm))
    session.add_all(
        MeddraTerm(
            llt_code=t.llt_code,
            llt_name=t.llt_name[:200],
            pt_code=t.pt_code,
            pt_name=t.pt_name[:200],
            soc_code=t.soc_code,
            soc_name=t.soc_name[:200],
            current=t.current,
            version=release.version[:64],
        )
        for t in release.terms.values()
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=None,
        action="import",
        entity="meddra",
        entity_id=release.version,
        changes={"version": (previous, release.version), "terms": (None, len(release.terms))},
    )
    return release.version, len(release.terms)


def meddra_version(session: Session) -> str | None:
    """The imported release's version, or ``None`` when none is imported."""
    return session.scalars(select(MeddraTerm.version).limit(1)).first()


def check_meddra_code(session: Session, code: int) -> None:
    """Refuse a lowest level term code the imported release lacks (none imported: any code)."""
    if not session.scalar(select(func.count()).select_from(MeddraTerm)):
        return
    term = session.get(MeddraTerm, code)
    if term is None:
        raise InputError(
            f"{code} is not a lowest level term of the imported MedDRA release "
            f"{meddra_version(session)}; search it with GET /api/safety/meddra?q=",
            location="meddra_llt",
        )


def search_meddra(session: Session, text: str, *, limit: int = 20) -> list[MeddraTerm]:
    """Current lowest level terms whose name contains ``text`` (any case)."""
    wanted = f"%{text.strip().lower()}%"
    return list(
        session.scalars(
            select(MeddraTerm)
            .where(func.lower(MeddraTerm.llt_name).like(wanted), MeddraTerm.current.is_(True))
            .order_by(MeddraTerm.llt_name)
            .limit(limit)
        )
    )
