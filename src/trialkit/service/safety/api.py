"""Serious adverse events: report and follow up (sites), work lists, review, SUSAR unblinding
of one case and its CIOMS I and E2B(R3) exports (the sponsor's safety role)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.safety import CtcaeTerm, ctcae_terms
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, SecurityDep
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import UnblindingBody
from trialkit.service.platform.policy import Action
from trialkit.service.safety import sae, terms
from trialkit.service.safety.views import SaeCaseView, SafetyCaseView, UnblindedCaseView

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["safety"])
AnyCase = UnblindedCaseView | SafetyCaseView | SaeCaseView
CaseNumber = Annotated[int, Path(ge=1, le=100_000)]
_Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SaeReportBody(_Body):
    """The SAE form's item values (see the protocol's SAE form); ``reason`` for a follow-up."""

    values: dict[str, Any]
    reason: _Note | None = None


class SaeReviewBody(_Body):
    """The sponsor's causality per drug (``not_related`` ... ``related``) and a comment."""

    causality: dict[str, Annotated[str, Field(max_length=32)]]
    comment: _Note | None = None


class TermView(_Body):
    term: str
    soc: str
    grades: list[int]


@router.get(
    "/safety/terms", dependencies=[requires(Action.VIEW_SAES)], response_model=list[TermView]
)
def list_terms() -> list[TermView]:
    """The CTCAE v5.0 terms an adverse event is coded to, with the grades each defines."""
    return [_term(t) for t in ctcae_terms()]


def _term(term: CtcaeTerm) -> TermView:
    return TermView(term=term.term, soc=term.soc, grades=list(term.grades))


class MeddraTermView(_Body):
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    soc_name: str
    version: str


@router.get(
    "/safety/meddra",
    dependencies=[requires(Action.VIEW_SAES)],
    response_model=list[MeddraTermView],
)
def search_meddra(
    session: DbSession, q: Annotated[str, Query(min_length=2, max_length=100)]
) -> list[MeddraTermView]:
    """Current lowest level terms of the imported MedDRA release whose name contains ``q``
    (empty when no release is imported: MedDRA is licensed by the sponsor, not shipped)."""
    return [
        MeddraTermView(
            llt_code=t.llt_code,
            llt_name=t.llt_name,
            pt_code=t.pt_code,
            pt_name=t.pt_name,
            soc_name=t.soc_name,
            version=t.version,
        )
        for t in terms.search_meddra(session, q)
    ]


@router.get(
    "/trials/{trial_id}/saes",
    dependencies=[requires(Action.VIEW_SAES)],
    response_model=list[AnyCase],
)
def list_cases(trial_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[SaeCaseView]:
    """The SAE work list: overdue first, then by when the report is due."""
    return sae.list_cases(session=session, actor=actor, trial_id=trial_id)


@router.post(
    "/patients/{patient_id}/saes",
    dependencies=[requires(Action.REPORT_SAE)],
    response_model=AnyCase,
    status_code=status.HTTP_201_CREATED,
)
def report_sae(
    patient_id: Id, body: SaeReportBody, session: DbSession, actor: CurrentPrincipal
) -> SaeCaseView:
    """Report a new SAE of the patient (due 24 hours after the site became aware)."""
    return sae.report_sae(session=session, actor=actor, patient_id=patient_id, values=body.values)


@router.get(
    "/patients/{patient_id}/saes/{case_number}",
    dependencies=[requires(Action.VIEW_SAES)],
    response_model=AnyCase,
)
def get_case(
    patient_id: Id, case_number: CaseNumber, session: DbSession, actor: CurrentPrincipal
) -> SaeCaseView:
    return sae.get_case(
        session=session, actor=actor, patient_id=patient_id, case_number=case_number
    )


@router.post(
    "/patients/{patient_id}/saes/{case_number}/versions",
    dependencies=[requires(Action.REPORT_SAE)],
    response_model=AnyCase,
    status_code=status.HTTP_201_CREATED,
)
def follow_up(
    patient_id: Id,
    case_number: CaseNumber,
    body: SaeReportBody,
    session: DbSession,
    actor: CurrentPrincipal,
) -> SaeCaseView:
    """A follow-up report: a new version of the case, with its reason."""
    return sae.report_sae(
        session=session,
        actor=actor,
        patient_id=patient_id,
        values=body.values,
        case_number=case_number,
        reason=body.reason,
    )


@router.post(
    "/patients/{patient_id}/saes/{case_number}/review",
    dependencies=[requires(Action.REVIEW_SAFETY)],
    response_model=AnyCase,
    status_code=status.HTTP_201_CREATED,
)
def review_case(
    patient_id: Id,
    case_number: CaseNumber,
    body: SaeReviewBody,
    session: DbSession,
    actor: CurrentPrincipal,
) -> SafetyCaseView:
    """The sponsor's review: causality per drug; expectedness from the protocol's RSI."""
    return sae.review_case(
        session=session,
        actor=actor,
        patient_id=patient_id,
        case_number=case_number,
        causality=body.causality,
        comment=body.comment,
    )


@router.post(
    "/patients/{patient_id}/saes/{case_number}/unblinding",
    dependencies=[requires(Action.UNBLIND_SUSAR)],
    response_model=UnblindedCaseView,
    responses={401: {"description": "Wrong password (counts towards the lock-out) or locked"}},
)
def unblind_case(
    patient_id: Id,
    case_number: CaseNumber,
    body: UnblindingBody,
    session: DbSession,
    security: SecurityDep,
    actor: CurrentPrincipal,
) -> UnblindedCaseView:
    """Unblind this one case for the safety role (password re-entered, reason; audited)."""
    return sae.unblind_case(
        session=session,
        security=security,
        actor=actor,
        patient_id=patient_id,
        case_number=case_number,
        password=body.password,
        reason=body.reason,
    )


@router.get(
    "/patients/{patient_id}/saes/{case_number}/{kind}",
    dependencies=[requires(Action.REVIEW_SAFETY)],
    response_class=Response,
)
def export_case(
    patient_id: Id,
    case_number: CaseNumber,
    kind: Literal["cioms", "e2b"],
    session: DbSession,
    actor: CurrentPrincipal,
) -> Response:
    """The case's CIOMS I form (``cioms``, PDF) or E2B(R3) ICSR (``e2b``, XML)."""
    content, media_type, name = sae.export_case(
        session=session, actor=actor, patient_id=patient_id, case_number=case_number, kind=kind
    )
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
