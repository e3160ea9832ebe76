"""Pharmacovigilance core: SAE reports, expectedness, SUSAR decisions and clocks, terms, exports.

Pure: no database or web code. The service's safety slice stores and shows what this decides.
Details and reasoning: docs/safety.md.
"""

from __future__ import annotations

from trialkit.safety.sae import (
    CAUSALITY,
    CRITERIA,
    OUTCOMES,
    RELATED,
    SAE_DUE,
    SaeReport,
    parse_sae_report,
)
from trialkit.safety.susar import (
    Assessment,
    Decision,
    DrugAssessment,
    assess,
    decide,
    is_expected,
    reporting_days,
    reporting_due,
)
from trialkit.safety.terms import CtcaeTerm, MedDRA, ctcae_term, ctcae_terms, load_meddra

__all__ = [
    "CAUSALITY",
    "CRITERIA",
    "OUTCOMES",
    "RELATED",
    "SAE_DUE",
    "Assessment",
    "CtcaeTerm",
    "Decision",
    "DrugAssessment",
    "MedDRA",
    "SaeReport",
    "assess",
    "ctcae_term",
    "ctcae_terms",
    "decide",
    "is_expected",
    "load_meddra",
    "parse_sae_report",
    "reporting_days",
    "reporting_due",
]
