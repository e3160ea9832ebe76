"""Request bodies: validated at the edge, unknown fields refused. Responses are service views."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.service.platform.tables.people import Role

__all__ = [
    "ActivationBody",
    "ConsentCreate",
    "DispensingCreate",
    "EthicsApprovalCreate",
    "FormRecordCreate",
    "LoginBody",
    "PasswordChange",
    "PatientCreate",
    "QueryAnswer",
    "QueryClosure",
    "QueryCreate",
    "QueryReopening",
    "RoleGrant",
    "RoleRevocation",
    "ScreeningRecordCreate",
    "SessionOpened",
    "ShipmentReceipt",
    "SiteCreate",
    "TokenIssued",
    "TumourPreviewBody",
    "UnblindingBody",
    "UserCreate",
]

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _text(max_length: int, min_length: int = 1) -> Any:
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=_PRINTABLE
    )


Password = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]
Reason = Annotated[str, _text(2000)]
IdField = Annotated[int, Field(ge=1, le=2_147_483_647)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginBody(_Body):
    username: Annotated[str, _text(64)]
    password: Password


class SessionOpened(_Body):
    user_id: int
    expires_at: dt.datetime
    csrf_token: str
    """Send it as ``X-CSRF-Token`` with every write made with the session cookie."""


class TokenIssued(_Body):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime


class PasswordChange(_Body):
    old_password: Password
    new_password: Password


class SiteCreate(_Body):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{2,16}$")]
    name: Annotated[str, _text(200)]
    city: Annotated[str, _text(100)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    coordinating: bool = False


class EthicsApprovalCreate(_Body):
    committee: Annotated[str, _text(300)]
    approval_date: dt.date
    protocol_version: Annotated[str, _text(100)]


class ActivationBody(_Body):
    reason: Reason | None = None


class UserCreate(_Body):
    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{3,64}$")]
    full_name: Annotated[str, _text(200)]
    password: Password


class RoleGrant(_Body):
    trial_id: IdField
    role: Role
    site_id: IdField | None = None
    reason: Reason | None = None


class RoleRevocation(_Body):
    reason: Reason


class PatientCreate(_Body):
    screening_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")]


class ScreeningRecordCreate(_Body):
    data: dict[str, Any] = Field(description="A screening record (trialkit eligibility schema)")
    reason: Reason | None = Field(default=None, description="Required for version 2 onwards")


class ConsentCreate(_Body):
    consent_date: dt.date
    information_sheet_version: Annotated[str, _text(64)]
    reason: Reason | None = None


class FormRecordCreate(_Body):
    """A new form record (no ``record_key``) or the next version of one (with a reason)."""

    data: dict[str, Any]
    record_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    reason: Reason | None = None


class QueryCreate(_Body):
    record_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    field: Annotated[str, _text(200)]
    message: Annotated[str, _text(2000)]


class QueryAnswer(_Body):
    response: Annotated[str, _text(2000)]


class QueryClosure(_Body):
    resolution: Annotated[str, _text(2000)]


class QueryReopening(_Body):
    """What is still wrong: the answer or closure does not resolve the query."""

    comment: Annotated[str, _text(2000)]


class UnblindingBody(_Body):
    """Emergency unblinding: the investigator's password, re-entered, and the medical reason."""

    password: Password
    reason: Reason


class DispensingCreate(_Body):
    cycle: Annotated[int, Field(ge=2, le=1000)]
    override_reason: Reason | None = Field(
        default=None,
        description="The pharmacist's documented reason to dispense although the check refuses "
        "(a cycle not yet due, treatment ended); recorded on the dispensing and audited.",
    )


class ShipmentReceipt(_Body):
    damaged: list[IdField] = Field(default_factory=list, max_length=10_000)


class TumourPreviewBody(_Body):
    """A tumour form as it would be saved (not saved): the RECIST evaluation it would give."""

    form: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = Field(
        description="the protocol's tumour baseline or tumour assessment form (by its roles)"
    )
    data: dict[str, Any]
    record_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    """The assessment it replaces; none for a new assessment."""
