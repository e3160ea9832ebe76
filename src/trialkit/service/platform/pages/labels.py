"""``N_``: marks page words for extraction (``make i18n``); they are translated when shown.

The labels of a form's items come from the protocol's form definitions, not from here.
"""

from __future__ import annotations

__all__ = ["N_"]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a deferred translation
    """Mark a message for extraction; it is translated where it is shown."""
    return message
