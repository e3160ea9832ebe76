"""The demo SOR trial's data, drawn from a seed (pure: no database, no I/O).

Sites (:mod:`.sites`), screened women and their screening records (:mod:`.records`,
:mod:`.plan`), and, given each randomised patient's arm, her clinical course (:mod:`.course`).
:mod:`trialkit.service.demo` applies them through the service functions, in date order, and
records what is known at the data cut-off.
"""

from trialkit.demodata.course import (
    CTCAE_TERMS,
    DAYS_PER_MONTH,
    Course,
    CourseRecord,
    Scenario,
    clinical_course,
    pfs_medians,
    visible_records,
)
from trialkit.demodata.plan import (
    ACCRUAL_END,
    FAIL_SHARE,
    Candidate,
    first_day_with,
    plan_screening,
    target_events,
)
from trialkit.demodata.records import FAILURES, GROUP_SHARES, Failure, Group, ScreeningPlan
from trialkit.demodata.replay import CAP_DAYS, Replay, cutoff_cap, replay
from trialkit.demodata.sites import DEMO_SITES, DemoSite, recruiting_sites

__all__ = [
    "ACCRUAL_END",
    "CAP_DAYS",
    "CTCAE_TERMS",
    "DAYS_PER_MONTH",
    "DEMO_SITES",
    "FAILURES",
    "FAIL_SHARE",
    "GROUP_SHARES",
    "Candidate",
    "Course",
    "CourseRecord",
    "DemoSite",
    "Failure",
    "Group",
    "Replay",
    "Scenario",
    "ScreeningPlan",
    "clinical_course",
    "cutoff_cap",
    "first_day_with",
    "pfs_medians",
    "plan_screening",
    "recruiting_sites",
    "replay",
    "target_events",
    "visible_records",
]
