"""Event prediction from blinded data: when will the target event arrive?

Pure core: fits enrolment, event and dropout models to pooled (blinded) patient data at
a cut-off, and simulates the remaining course of the trial many times, vectorised, with
an explicit random generator. No arm information is ever used. See
:mod:`trialkit.predict.forecast` for the method and its references.
"""

from __future__ import annotations

from trialkit.predict.calibration import (
    CalibrationResult,
    CutCalibration,
    TrialTruth,
    calibrate,
    simulate_truth,
)
from trialkit.predict.data import ARM_COLUMN, COLUMNS, BlindedData, blinded_data_from_table
from trialkit.predict.enrolment import EnrolmentFit, fit_enrolment, planned_enrolment
from trialkit.predict.event_models import (
    EventFit,
    Exponential,
    ExponentialMixture,
    ModelName,
    PiecewiseExponential,
    Weibull,
    default_knots,
    fit_event_model,
)
from trialkit.predict.forecast import (
    DEFAULT_MODEL,
    MIXTURE_WITHHELD,
    EventCount,
    EventForecast,
    ModelChoice,
    design_forecast,
    predict_events,
)

__all__ = [
    "ARM_COLUMN",
    "COLUMNS",
    "DEFAULT_MODEL",
    "MIXTURE_WITHHELD",
    "BlindedData",
    "CalibrationResult",
    "CutCalibration",
    "EnrolmentFit",
    "EventCount",
    "EventFit",
    "EventForecast",
    "Exponential",
    "ExponentialMixture",
    "ModelChoice",
    "ModelName",
    "PiecewiseExponential",
    "TrialTruth",
    "Weibull",
    "blinded_data_from_table",
    "calibrate",
    "default_knots",
    "design_forecast",
    "fit_enrolment",
    "fit_event_model",
    "planned_enrolment",
    "predict_events",
    "simulate_truth",
]
