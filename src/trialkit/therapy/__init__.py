"""Background therapy: assignment from the protocol's rules, BSA dosing, the treatment calendar."""

from trialkit.therapy.assign import TherapyAssignment, assign_background_therapy, group_assignment
from trialkit.therapy.calendar import CalendarEntry, TreatmentCalendar, treatment_calendar
from trialkit.therapy.dosing import Dose, body_surface_area, regimen_dose

__all__ = [
    "CalendarEntry",
    "Dose",
    "TherapyAssignment",
    "TreatmentCalendar",
    "assign_background_therapy",
    "body_surface_area",
    "group_assignment",
    "regimen_dose",
    "treatment_calendar",
]
