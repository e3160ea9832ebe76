"""CONSORT counts on a constructed case."""

from __future__ import annotations

from trialkit.analysis import ConsortPatient, consort_flow

PATIENTS = [
    ConsortPatient(eligible=False, failed_criteria=("IN3", "EX2")),
    ConsortPatient(eligible=False, failed_criteria=("IN3",)),
    ConsortPatient(eligible=None),
    ConsortPatient(eligible=True),
    ConsortPatient(True, randomised=True, arm="A", treated=True, analysed=True),
    ConsortPatient(
        True,
        randomised=True,
        arm="A",
        treated=True,
        discontinued_reason="progression",
        analysed=True,
    ),
    ConsortPatient(True, randomised=True, arm="B", treated=False, analysed=True),
]


def test_flow_by_arm() -> None:
    flow = consort_flow(PATIENTS, arms=["A", "B"])
    assert (flow.screened, flow.not_eligible, flow.undetermined) == (7, 2, 1)
    assert flow.not_eligible_by_criterion == {"EX2": 1, "IN3": 2}
    assert (flow.eligible_not_randomised, flow.randomised) == (1, 3)
    a, b = flow.arms
    assert (a.randomised, a.treated, a.discontinued, a.analysed) == (2, 2, {"progression": 1}, 2)
    assert (b.randomised, b.treated, b.not_treated) == (1, 0, 1)


def test_blinded_flow_pools_the_arms() -> None:
    flow = consort_flow(PATIENTS)
    assert len(flow.arms) == 1
    assert flow.arms[0].randomised == 3
    assert flow.arms[0].arm == "All randomised"
