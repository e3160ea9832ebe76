"""The report's efficacy sections: time-to-event endpoints, response, subgroups.

Unblinded: KM by arm, medians, stratified log-rank, Cox HR, the protocol's decision, and the
sensitivity analyses. Blinded: the pooled curve and pooled counts only; nothing here computes a
statistic from the arm when ``blinded`` is set (the arm is not even in the inputs then).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import stats

from trialkit.analysis import (
    KaplanMeier,
    clopper_pearson,
    kaplan_meier,
    newcombe_difference,
    subgroup_analysis,
    two_arm_survival,
)
from trialkit.design.decision import decision_characteristics
from trialkit.endpoints import DAYS_PER_MONTH, AdslRow, AdtteRow
from trialkit.errors import InputError
from trialkit.report.document import Block, FigureBlock, Section, Table, TextBlock
from trialkit.report.forest_plot import forest_svg
from trialkit.report.formatting import ci, num, pvalue
from trialkit.report.inputs import ReportInputs
from trialkit.report.km_plot import km_svg

__all__ = ["POOLED", "response_section", "subgroup_section", "time_to_event_sections"]

POOLED = "All patients"
NAMES = {"PFS": "Progression-free survival", "TTP": "Time to progression", "OS": "Overall survival"}


class _Data:
    """One endpoint's times (months), events, arm labels and strata over a population."""

    def __init__(
        self, inputs: ReportInputs, adtte: Sequence[AdtteRow], paramcd: str, ids: set[str]
    ) -> None:
        adsl = {r.USUBJID: r for r in inputs.adsl}
        rows = [r for r in adtte if paramcd == r.PARAMCD and r.USUBJID in ids]
        self.ids = [r.USUBJID for r in rows]
        self.time = np.array([r.AVAL / DAYS_PER_MONTH for r in rows], dtype=float)
        self.event = np.array([1 - r.CNSR for r in rows], dtype=float)
        self.arm = [POOLED if inputs.blinded else (adsl[i].ARM or "") for i in self.ids]
        self.stratum = [adsl[i].STRATAR or "unknown" for i in self.ids]
        self.bgther = [adsl[i].BGTHER or "unknown" for i in self.ids]
        self.country = [inputs.country.get(i, "unknown") for i in self.ids]

    def curves(self, order: Sequence[str]) -> dict[str, KaplanMeier]:
        out = {}
        for label in order:
            mask = np.array([a == label for a in self.arm], dtype=bool)
            if mask.any():
                out[label] = kaplan_meier(self.time[mask], self.event[mask])
        return out


def _arm_order(inputs: ReportInputs) -> tuple[list[str], str | None]:
    """Labels in display order (treatment first) and the reference (control) label."""
    if inputs.blinded:
        return [POOLED], None
    arms = sorted(inputs.arms, key=lambda a: a.control)
    control = next((a.label for a in arms if a.control), None)
    return [a.label for a in arms], control


def _km_table(curves: dict[str, KaplanMeier], caption: str) -> Table:
    rows = []
    for label, km in curves.items():
        med = km.median
        rows.append((label, str(km.n), str(km.events), ci(med.estimate, med.lower, med.upper, 1)))
    return Table(caption, ("Group", "Patients", "Events", "Median, months (95% CI)"), tuple(rows))


def _comparison(data: _Data, reference: str, *, stratified: bool) -> tuple[str, ...] | str:
    """(n, events, HR (95% CI), log-rank p) or the reason it cannot be estimated."""
    try:
        result = two_arm_survival(
            data.time,
            data.event,
            data.arm,
            reference,
            strata=data.stratum if stratified else None,
        )
    except InputError as exc:
        return str(exc)
    cox = result.stratified_cox if stratified and result.stratified_cox else result.cox
    test = result.stratified_logrank if stratified and result.stratified_logrank else result.logrank
    return (
        str(result.n),
        str(result.events),
        ci(float(cox.hr[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])),
        pvalue(test.p),
    )


def _unblinded_tests(
    inputs: ReportInputs, data: _Data, reference: str, paramcd: str
) -> list[Block]:
    try:
        result = two_arm_survival(data.time, data.event, data.arm, reference, strata=data.stratum)
    except InputError as exc:
        return [TextBlock(f"The comparison of arms cannot be estimated: {exc}")]
    cox = result.stratified_cox or result.cox
    lr = result.stratified_logrank or result.logrank
    hr, lo, hi = float(cox.hr[0]), float(cox.hr_lower[0]), float(cox.hr_upper[0])
    one_sided = float(stats.norm.cdf(float(cox.coef[0]) / float(cox.se[0])))
    blocks: list[Block] = [
        Table(
            "Comparison of arms (stratified by the randomisation strata)",
            ("Statistic", "Value"),
            (
                (
                    "Hazard ratio, " + result.other + " vs " + reference + " (95% CI)",
                    ci(hr, lo, hi),
                ),
                ("Stratified Cox model, one-sided p (HR < 1)", pvalue(one_sided)),
                (f"Stratified log-rank chi-square ({lr.df} df)", num(lr.chisq, 3)),
                ("Stratified log-rank p (two-sided)", pvalue(lr.p)),
                ("Unstratified log-rank p (two-sided)", pvalue(result.logrank.p)),
            ),
            note="Cox proportional hazards model (Efron ties) stratified by STRATAR; "
            "HR below 1 favours the treatment arm.",
        )
    ]
    d = inputs.design
    if paramcd == "PFS" and d is not None:
        oc = decision_characteristics(
            events=d.events,
            decision_hr=d.decision_hr,
            alternative_hr=d.alternative_hr,
            allocation_ratio=d.allocation_ratio,
        )
        met = hr <= d.decision_hr
        blocks.append(
            TextBlock(
                f"Protocol decision: observed HR {hr:.3f} "
                f"{'<=' if met else '>'} {d.decision_hr:g}, so the criterion "
                f"'observed HR <= {d.decision_hr:g}' is {'MET' if met else 'NOT MET'} "
                f"({result.events} PFS events observed; the design planned {d.events}).",
                emphasis=True,
            )
        )
        blocks.append(
            TextBlock(
                f"Design error rates of this rule at {d.events} events (Schoenfeld "
                f"approximation): false-positive rate {oc.false_positive_rate:.3f} if the "
                f"true HR is 1; false-negative rate {oc.false_negative_rate:.3f} (power "
                f"{oc.power:.3f}) if the true HR is {d.alternative_hr:g}."
            )
        )
    return blocks


def _tte_section(
    inputs: ReportInputs, paramcd: str, anchor: str, itt: set[str], pp: set[str]
) -> Section:
    order, reference = _arm_order(inputs)
    name = NAMES[paramcd]
    data = _Data(inputs, inputs.adtte, paramcd, itt)
    blocks: list[Block] = []
    primary = paramcd == "PFS"
    if not data.ids:
        return Section(anchor, name, (TextBlock("No randomised patients."),), primary)
    curves = data.curves(order)
    blocks.append(
        FigureBlock(
            f"{name}: Kaplan-Meier estimate{'s by arm' if reference else ' (pooled)'}, ITT",
            km_svg(curves, time_label="Months since randomisation", y_label=f"{name} probability"),
        )
    )
    blocks.append(_km_table(curves, f"{name}: patients, events and median (ITT)"))
    if reference is None:
        blocks.append(
            TextBlock(
                "Blinded report: curves, counts and medians are pooled over all randomised "
                "patients; no comparison between treatment groups is shown."
            )
        )
        return Section(anchor, name, tuple(blocks), primary)
    blocks += _unblinded_tests(inputs, data, reference, paramcd)
    if paramcd == "PFS":
        rows = []
        for label, adtte, ids, stratified in (
            ("ITT, stratified (primary)", inputs.adtte, itt, True),
            ("ITT, unstratified", inputs.adtte, itt, False),
            ("Per-protocol, stratified", inputs.adtte, pp, True),
            ("ITT, EMA 2012 censoring, stratified", inputs.adtte_ema, itt, True),
        ):
            out = _comparison(_Data(inputs, adtte, "PFS", ids), reference, stratified=stratified)
            rows.append((label, *out) if isinstance(out, tuple) else (label, "", "", out, ""))
        blocks.append(
            Table(
                "PFS sensitivity analyses",
                ("Analysis", "Patients", "Events", "HR (95% CI)", "Log-rank p"),
                tuple(rows),
                note="Per-protocol: patients who received study drug without a major protocol "
                "deviation (ADSL PPROTFL = Y). EMA 2012: new anticancer therapy does not censor "
                "and events after two or more missed assessments count as events.",
            )
        )
    return Section(anchor, name, tuple(blocks), primary)


def time_to_event_sections(inputs: ReportInputs) -> list[Section]:
    """PFS (the primary endpoint, with its sensitivity analyses), TTP and OS."""
    itt = {r.USUBJID for r in inputs.adsl if r.ITTFL == "Y"}
    pp = {r.USUBJID for r in inputs.adsl if r.PPROTFL == "Y"}
    return [
        _tte_section(inputs, "PFS", "pfs", itt, pp),
        _tte_section(inputs, "TTP", "ttp", itt, pp),
        _tte_section(inputs, "OS", "os", itt, pp),
    ]


def response_section(inputs: ReportInputs) -> Section:
    """ORR with Clopper-Pearson CIs (and the difference with Newcombe's CI), and DoR."""
    order, reference = _arm_order(inputs)
    adsl: dict[str, AdslRow] = {r.USUBJID: r for r in inputs.adsl if r.ITTFL == "Y"}

    def group(i: str) -> str:
        return POOLED if inputs.blinded else (adsl[i].ARM or "")

    blocks: list[Block] = []
    bor_rows, orr_rows = [], []
    counts: dict[str, tuple[int, int]] = {}
    for label in order:
        ids = [i for i in adsl if group(i) == label]
        bor = Counter(inputs.best_response.get(i, "NE") for i in ids)
        bor_rows.append(
            (label, str(len(ids)), *(str(bor[c]) for c in ("CR", "PR", "SD", "PD", "NE")))
        )
        x = bor["CR"] + bor["PR"]
        counts[label] = (x, len(ids))
        if ids:
            p = clopper_pearson(x, len(ids))
            orr_rows.append(
                (label, f"{x}/{len(ids)}", ci(100 * p.estimate, 100 * p.lower, 100 * p.upper, 1))
            )
    blocks.append(
        Table(
            "Best overall response (RECIST 1.1), ITT",
            ("Group", "Patients", "CR", "PR", "SD", "PD", "NE"),
            tuple(bor_rows),
        )
    )
    blocks.append(
        Table(
            "Objective response rate (CR or PR), ITT",
            ("Group", "Responders", "ORR, % (95% CI)"),
            tuple(orr_rows),
            note="Exact (Clopper-Pearson) 95% confidence intervals.",
        )
    )
    if reference is not None:
        other = next(label for label in order if label != reference)
        (x1, n1), (x2, n2) = counts[other], counts[reference]
        if n1 and n2:
            d = newcombe_difference(x1, n1, x2, n2)
            blocks.append(
                TextBlock(
                    f"Difference in ORR, {other} minus {reference}: "
                    f"{ci(100 * d.estimate, 100 * d.lower, 100 * d.upper, 1)} percentage points "
                    "(Newcombe hybrid score 95% CI)."
                )
            )
    dor = _Data(inputs, inputs.adtte, "DOR", set(adsl))
    if dor.ids:
        curves = dor.curves(order)
        blocks.append(
            FigureBlock(
                "Duration of response among responders: Kaplan-Meier estimate",
                km_svg(
                    curves,
                    time_label="Months since first response",
                    y_label="Probability of remaining in response",
                ),
            )
        )
        blocks.append(_km_table(curves, "Duration of response (responders)"))
    else:
        blocks.append(TextBlock("No responders yet: duration of response is not estimable."))
    return Section("response", "Objective response and duration of response", tuple(blocks))


def subgroup_section(inputs: ReportInputs) -> Section:
    """Unblinded: forest plot of the PFS HR by background therapy and by country, with the
    interaction p-values. Blinded: pooled patients and events per subgroup only."""
    _, reference = _arm_order(inputs)
    itt = {r.USUBJID for r in inputs.adsl if r.ITTFL == "Y"}
    data = _Data(inputs, inputs.adtte, "PFS", itt)
    title = "PFS by subgroup"
    if reference is None:
        rows = []
        for name, labels in (("Background therapy", data.bgther), ("Country", data.country)):
            for level in sorted(set(labels)):
                mask = np.array([v == level for v in labels], dtype=bool)
                rows.append((name, level, str(int(mask.sum())), str(int(data.event[mask].sum()))))
        return Section(
            "subgroups",
            title,
            (
                Table(
                    "Patients and PFS events by subgroup (pooled)",
                    ("Subgrouping", "Level", "Patients", "Events"),
                    tuple(rows),
                ),
            ),
        )
    analyses = []
    for name, labels in (("Background therapy", data.bgther), ("Country", data.country)):
        try:
            analyses.append(
                subgroup_analysis(data.time, data.event, data.arm, reference, labels, name=name)
            )
        except InputError as exc:
            return Section(
                "subgroups", title, (TextBlock(f"Subgroup analysis not estimable: {exc}"),)
            )
    try:
        overall = float(two_arm_survival(data.time, data.event, data.arm, reference).cox.hr[0])
    except InputError:
        overall = None
    table_rows = []
    for a in analyses:
        for e in a.effects:
            hr = (
                "not estimable" + (f" ({e.note})" if e.note else "")
                if e.hr is None
                else ci(e.hr, e.lower, e.upper)
            )
            table_rows.append((a.name, e.level, str(e.n), str(e.events), hr, pvalue(a.p)))
    return Section(
        "subgroups",
        title,
        (
            FigureBlock(
                "PFS hazard ratio by subgroup (forest plot)",
                forest_svg(analyses, overall_hr=overall),
            ),
            Table(
                "PFS hazard ratio by subgroup",
                ("Subgrouping", "Level", "Patients", "Events", "HR (95% CI)", "Interaction p"),
                tuple(table_rows),
                note="HR within each level from an unstratified Cox model; interaction p from "
                "the likelihood-ratio test of arm x subgroup terms in a Cox model.",
            ),
        ),
    )
