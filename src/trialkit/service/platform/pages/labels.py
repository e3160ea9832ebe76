"""``N_``: marks page words for extraction (``make i18n``); they are translated when shown.

The labels of a form's items come from the protocol's form definitions, not from here.
"""

from __future__ import annotations

__all__ = ["CORRECTION_NEEDS_REASON", "N_", "RECIST_WORDS", "ROLE_WORDS"]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a deferred translation
    """Mark a message for extraction; it is translated where it is shown."""
    return message


CORRECTION_NEEDS_REASON = N_(
    "Say why this version corrects the one before: it changes or clears a value already saved."
)
"""The service's refusal of a correction without a reason, in a person's words."""

RECIST_WORDS = {
    "CR": N_("complete response"),
    "PR": N_("partial response"),
    "SD": N_("stable disease"),
    "NON_CR_NON_PD": N_("non-CR/non-PD"),
    "PD": N_("progressive disease"),
    "NE": N_("not evaluable"),
    "NA": N_("not applicable"),
}
"""RECIST 1.1 responses in words (the codes of :mod:`trialkit.endpoints.recist`); the pages
show them through the ``recist`` filter."""

ROLE_WORDS = {
    "investigator": N_("investigator"),
    "pharmacist": N_("pharmacist"),
    "monitor": N_("monitor"),
    "data_manager": N_("data manager"),
    "statistician": N_("statistician"),
    "unblinded_statistician": N_("unblinded statistician"),
    "dsmb_member": N_("DSMB member"),
    "administrator": N_("administrator"),
    "safety_physician": N_("safety physician"),
}
"""The roles in words (the pages show them through the ``role`` filter)."""
