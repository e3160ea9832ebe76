"""The SDTM metadata trialkit exports: variables, labels, types, codelists (SDTMIG 3.3).

Details and reasoning: docs/reports.md, section `trialkit.service.oversight.sdtm_spec`.

References
----------
CDISC SDTM Implementation Guide v3.3 (2018); CDISC Controlled Terminology (SDTM);
Define-XML v2.1 (2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CODELISTS",
    "DERIVATIONS",
    "DOMAINS",
    "FREQUENCY",
    "RESPONSE",
    "ROUTE",
    "CodeList",
    "DomainSpec",
    "Variable",
    "derivation",
]

DataType = Literal["text", "integer", "float", "date"]
Core = Literal["Req", "Exp", "Perm"]
Origin = Literal["Collected", "Derived", "Assigned", "Protocol", "Not Available"]


@dataclass(frozen=True)
class Variable:
    """One SDTM variable: name (<= 8), label (<= 40), type, core, origin, codelist OID."""

    name: str
    label: str
    data_type: DataType = "text"
    core: Core = "Perm"
    origin: Origin = "Collected"
    codelist: str | None = None
    comment: str | None = None

    @property
    def numeric(self) -> bool:
        return self.data_type in ("integer", "float")


@dataclass(frozen=True)
class DomainSpec:
    """One SDTM domain: label, observation class, structure, keys and variables in order."""

    name: str
    label: str
    observation_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


@dataclass(frozen=True)
class CodeList:
    """A codelist: OID suffix, name, whether CDISC publishes it, and its terms."""

    name: str
    terms: tuple[str, ...]
    cdisc: bool = True
    data_type: DataType = "text"


def _v(
    name: str,
    label: str,
    core: Core = "Perm",
    *,
    t: DataType = "text",
    o: Origin = "Collected",
    cl: str | None = None,
    comment: str | None = None,
) -> Variable:
    return Variable(name, label, t, core, o, cl, comment)


def _ids(prefix: str) -> tuple[Variable, ...]:
    return (
        _v("STUDYID", "Study Identifier", "Req", o="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", "Req", o="Assigned"),
        _v("USUBJID", "Unique Subject Identifier", "Req", o="Derived"),
        _v(f"{prefix}SEQ", "Sequence Number", "Req", t="integer", o="Derived"),
    )


_EPOCH = _v(
    "EPOCH",
    "Epoch",
    "Perm",
    o="Derived",
    cl="EPOCH",
)

DOMAINS: dict[str, DomainSpec] = {
    spec.name: spec
    for spec in (
        DomainSpec(
            "DM",
            "Demographics",
            "SPECIAL PURPOSE",
            "One record per subject",
            ("STUDYID", "USUBJID"),
            (
                *_ids("DM")[:3],
                _v("SUBJID", "Subject Identifier for the Study", "Req", o="Assigned"),
                _v("RFSTDTC", "Subject Reference Start Date/Time", "Exp", t="date", o="Derived"),
                _v("RFENDTC", "Subject Reference End Date/Time", "Exp", t="date", o="Derived"),
                _v("RFXSTDTC", "Date/Time of First Study Treatment", "Exp", t="date", o="Derived"),
                _v("RFXENDTC", "Date/Time of Last Study Treatment", "Exp", t="date", o="Derived"),
                _v("RFICDTC", "Date/Time of Informed Consent", "Exp", t="date"),
                _v("RFPENDTC", "Date/Time of End of Participation", "Exp", t="date", o="Derived"),
                _v("DTHDTC", "Date/Time of Death", "Exp", t="date"),
                _v("DTHFL", "Subject Death Flag", "Exp", o="Derived", cl="NY"),
                _v("SITEID", "Study Site Identifier", "Req", o="Assigned"),
                _v("AGE", "Age", "Exp", t="integer", o="Derived"),
                _v("AGEU", "Age Units", "Exp", o="Assigned", cl="AGEU"),
                _v("SEX", "Sex", "Req", cl="SEX"),
                _v(
                    "RACE",
                    "Race",
                    "Exp",
                    o="Not Available",
                    cl="RACE",
                    comment="Not collected: no case report form of the protocol asks for race",
                ),
                _v("ARMCD", "Planned Arm Code", "Req", o="Assigned", cl="ARMCD"),
                _v("ARM", "Description of Planned Arm", "Req", o="Assigned", cl="ARM"),
                _v("ACTARMCD", "Actual Arm Code", "Req", o="Derived", cl="ARMCD"),
                _v("ACTARM", "Description of Actual Arm", "Req", o="Derived", cl="ARM"),
                _v(
                    "ARMNRS",
                    "Reason Arm and/or Actual Arm is Null",
                    "Exp",
                    o="Derived",
                    cl="ARMNULRS",
                ),
                _v("COUNTRY", "Country", "Req", o="Derived", cl="COUNTRY"),
            ),
        ),
        DomainSpec(
            "DS",
            "Disposition",
            "EVENTS",
            "One record per disposition status or protocol milestone per subject",
            ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
            (
                *_ids("DS"),
                _v("DSTERM", "Reported Term for the Disposition Event", "Req"),
                _v("DSDECOD", "Standardized Disposition Term", "Req", o="Assigned", cl="DSDECOD"),
                _v("DSCAT", "Category for Disposition Event", "Exp", o="Assigned", cl="DSCAT"),
                _v("DSSCAT", "Subcategory for Disposition Event", "Perm", o="Assigned"),
                _EPOCH,
                _v("DSSTDTC", "Start Date/Time of Disposition Event", "Exp", t="date"),
            ),
        ),
        DomainSpec(
            "EX",
            "Exposure",
            "INTERVENTIONS",
            "One record per constant dosing interval per subject",
            ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
            (
                *_ids("EX"),
                _v("EXTRT", "Name of Treatment", "Req", o="Protocol"),
                _v("EXDOSE", "Dose", "Exp", t="float"),
                _v("EXDOSU", "Dose Units", "Exp", o="Protocol", cl="UNIT"),
                _v("EXDOSFRM", "Dose Form", "Exp", o="Protocol", cl="FRM"),
                _v("EXDOSFRQ", "Dosing Frequency per Interval", "Perm", o="Protocol", cl="FREQ"),
                _v("EXROUTE", "Route of Administration", "Perm", o="Protocol", cl="ROUTE"),
                _EPOCH,
                _v("EXSTDTC", "Start Date/Time of Treatment", "Exp", t="date"),
                _v("EXENDTC", "End Date/Time of Treatment", "Exp", t="date"),
            ),
        ),
        DomainSpec(
            "AE",
            "Adverse Events",
            "EVENTS",
            "One record per adverse event per subject",
            ("STUDYID", "USUBJID", "AETERM", "AESTDTC"),
            (
                *_ids("AE"),
                _v("AESPID", "Sponsor-Defined Identifier", "Perm", o="Assigned"),
                _v("AETERM", "Reported Term for the Adverse Event", "Req"),
                _v("AESER", "Serious Event", "Exp", cl="NY"),
                _v("AEACN", "Action Taken with Study Treatment", "Exp", cl="ACN"),
                _v("AEREL", "Causality", "Exp", cl="AEREL"),
                _v(
                    "AEOUT",
                    "Outcome of Adverse Event",
                    "Perm",
                    o="Derived",
                    cl="OUT",
                ),
                _v("AETOXGR", "Standard Toxicity Grade", "Perm", cl="TOXGR"),
                _EPOCH,
                _v("AESTDTC", "Start Date/Time of Adverse Event", "Exp", t="date"),
                _v("AEENDTC", "End Date/Time of Adverse Event", "Exp", t="date"),
            ),
        ),
        DomainSpec(
            "TU",
            "Tumor/Lesion Identification",
            "FINDINGS",
            "One record per identified tumor per subject per assessor",
            ("STUDYID", "USUBJID", "TULNKID", "TUDTC"),
            (
                *_ids("TU"),
                _v("TULNKID", "Link ID", "Exp"),
                _v("TUTESTCD", "Tumor/Lesion ID Short Name", "Req", o="Assigned", cl="TUTESTCD"),
                _v("TUTEST", "Tumor/Lesion ID Test Name", "Req", o="Assigned", cl="TUTEST"),
                _v("TUORRES", "Tumor/Lesion ID Result", "Exp", cl="TUORRES"),
                _v("TUSTRESC", "Tumor/Lesion ID Result Std. Format", "Exp", cl="TUORRES"),
                _v("TULOC", "Location of the Tumor/Lesion", "Exp"),
                _v("TUMETHOD", "Method of Identification", "Exp", cl="METHOD"),
                _v("TUEVAL", "Evaluator", "Perm", o="Assigned", cl="EVAL"),
                _EPOCH,
                _v("TUDTC", "Date/Time of Tumor/Lesion Identification", "Exp", t="date"),
            ),
        ),
        DomainSpec(
            "TR",
            "Tumor/Lesion Results",
            "FINDINGS",
            "One record per tumor measurement/assessment per visit per subject per assessor",
            ("STUDYID", "USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"),
            (
                *_ids("TR"),
                _v("TRLNKID", "Link ID", "Exp"),
                _v(
                    "TRTESTCD",
                    "Tumor/Lesion Assessment Short Name",
                    "Req",
                    o="Assigned",
                    cl="TRTESTCD",
                ),
                _v("TRTEST", "Tumor/Lesion Assessment Test Name", "Req", o="Assigned", cl="TRTEST"),
                _v("TRORRES", "Result or Finding in Original Units", "Exp"),
                _v("TRORRESU", "Original Units", "Exp", cl="UNIT"),
                _v("TRSTRESC", "Character Result/Finding in Std Format", "Exp", o="Derived"),
                _v(
                    "TRSTRESN",
                    "Numeric Result/Finding in Standard Units",
                    "Exp",
                    t="float",
                    o="Derived",
                ),
                _v("TRSTRESU", "Standard Units", "Exp", o="Derived", cl="UNIT"),
                _v("TRMETHOD", "Method Used for Tumor/Lesion Assessment", "Perm", cl="METHOD"),
                _v("TREVAL", "Evaluator", "Perm", o="Assigned", cl="EVAL"),
                _EPOCH,
                _v("TRDTC", "Date/Time of Tumor/Lesion Measurement", "Exp", t="date"),
            ),
        ),
        DomainSpec(
            "RS",
            "Disease Response",
            "FINDINGS",
            "One record per response assessment per time point per subject per assessor",
            ("STUDYID", "USUBJID", "RSTESTCD", "RSDTC"),
            (
                *_ids("RS"),
                _v("RSTESTCD", "Assessment Short Name", "Req", o="Assigned", cl="RSTESTCD"),
                _v("RSTEST", "Assessment Name", "Req", o="Assigned", cl="RSTEST"),
                _v("RSCAT", "Category for Assessment", "Exp", o="Protocol"),
                _v(
                    "RSORRES",
                    "Result or Finding in Original Units",
                    "Exp",
                    o="Derived",
                    cl="RSRESP",
                ),
                _v(
                    "RSSTRESC",
                    "Character Result/Finding in Std Format",
                    "Exp",
                    o="Derived",
                    cl="RSRESP",
                ),
                _v("RSEVAL", "Evaluator", "Exp", o="Assigned", cl="EVAL"),
                _EPOCH,
                _v("RSDTC", "Date/Time of Assessment", "Exp", t="date", o="Derived"),
            ),
        ),
    )
}

CODELISTS: dict[str, CodeList] = {
    "SEX": CodeList("Sex", ("F", "M", "U")),
    "AGEU": CodeList("Age Unit", ("YEARS",)),
    "NY": CodeList("No Yes Response", ("N", "Y")),
    "RACE": CodeList(
        "Race",
        (
            "AMERICAN INDIAN OR ALASKA NATIVE",
            "ASIAN",
            "BLACK OR AFRICAN AMERICAN",
            "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
            "WHITE",
        ),
    ),
    "ACN": CodeList(
        "Action Taken with Study Treatment",
        (
            "DOSE INCREASED",
            "DOSE NOT CHANGED",
            "DOSE RATE REDUCED",
            "DOSE REDUCED",
            "DRUG INTERRUPTED",
            "DRUG WITHDRAWN",
            "NOT APPLICABLE",
            "UNKNOWN",
        ),
    ),
    "OUT": CodeList(
        "Outcome of Event",
        (
            "FATAL",
            "NOT RECOVERED/NOT RESOLVED",
            "RECOVERED/RESOLVED",
            "RECOVERED/RESOLVED WITH SEQUELAE",
            "RECOVERING/RESOLVING",
            "UNKNOWN",
        ),
    ),
    "TOXGR": CodeList("Toxicity Grade", ("1", "2", "3", "4", "5")),
    "AEREL": CodeList(
        "Causality (sponsor)",
        ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED"),
        cdisc=False,
    ),
    "ARMNULRS": CodeList(
        "Arm Null Reason",
        ("ASSIGNED, NOT TREATED", "NOT ASSIGNED", "SCREEN FAILURE", "UNPLANNED TREATMENT"),
    ),
    "EPOCH": CodeList("Epoch", ("SCREENING", "TREATMENT", "FOLLOW-UP")),
    "DSDECOD": CodeList(
        "Completion/Reason for Non-Completion and Protocol Milestone",
        (
            "ADVERSE EVENT",
            "COMPLETED",
            "DEATH",
            "LOST TO FOLLOW-UP",
            "OTHER",
            "PHYSICIAN DECISION",
            "PROGRESSIVE DISEASE",
            "WITHDRAWAL BY SUBJECT",
            "INFORMED CONSENT OBTAINED",
            "RANDOMIZED",
        ),
    ),
    "DSCAT": CodeList(
        "Category for Disposition Event", ("DISPOSITION EVENT", "PROTOCOL MILESTONE")
    ),
    "UNIT": CodeList("Unit", ("mg", "mm")),
    "FRM": CodeList("Pharmaceutical Dosage Form", ("TABLET",)),
    "FREQ": CodeList("Frequency", ("BID", "QD", "Q3W")),
    "ROUTE": CodeList("Route of Administration Response", ("INTRAVENOUS", "ORAL")),
    "METHOD": CodeList(
        "Method",
        ("BONE SCAN", "CALIPER", "CT SCAN", "MRI", "OTHER", "PET SCAN", "ULTRASOUND", "X-RAY"),
    ),
    "EVAL": CodeList("Evaluator", ("INVESTIGATOR",)),
    "TUTESTCD": CodeList("Tumor or Lesion Identification Test Code", ("TUMIDENT",)),
    "TUTEST": CodeList("Tumor or Lesion Identification Test Name", ("Tumor Identification",)),
    "TUORRES": CodeList("Tumor or Lesion Identification Result", ("NEW", "NON-TARGET", "TARGET")),
    "TRTESTCD": CodeList(
        "Tumor or Lesion Properties Test Code", ("LDIAM", "SAXIS", "SUMDIAM", "TUMSTATE")
    ),
    "TRTEST": CodeList(
        "Tumor or Lesion Properties Test Name",
        ("Longest Diameter", "Short Axis", "Sum of Diameter", "Tumor State"),
    ),
    "RSTESTCD": CodeList(
        "Oncology Response Assessment Test Code", ("BESTRESP", "NTRGRESP", "OVRLRESP", "TRGRESP")
    ),
    "RSTEST": CodeList(
        "Oncology Response Assessment Test Name",
        ("Best Overall Response", "Non-target Response", "Overall Response", "Target Response"),
    ),
    "RSRESP": CodeList(
        "Oncology Response Assessment Result", ("CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD")
    ),
}
"""Codelists by OID suffix. ARMCD, ARM and COUNTRY are the trial's own (from the protocol and
its sites) and are added by :func:`.define_xml.define_xml`."""

ROUTE = {"oral": "ORAL", "intravenous infusion": "INTRAVENOUS", "intravenous": "INTRAVENOUS"}
"""The CDISC route of a regimen's or arm's route as a protocol words it."""
FREQUENCY = {"once daily": "QD", "twice daily": "BID", "day 1 every 21 days": "Q3W"}
"""The CDISC frequency of a background regimen's frequency as a protocol words it (a
form's ``treatment.frequency`` gives it where these do not)."""
RESPONSE = {"NON_CR_NON_PD": "NON-CR/NON-PD"}
"""RECIST engine responses whose CDISC submission value differs (the rest are the same; the
engine's ``NA``, not applicable, gives no record)."""

DERIVATIONS = {
    "USUBJID": "STUDYID, a hyphen and SUBJID (the screening number qualified by the site code)",
    "SEQ": "Record number within the domain in export order (unique within USUBJID)",
    "RFSTDTC": "Earliest study-drug start date (first dose)",
    "RFENDTC": "Latest study-drug end date; null while a dispensing period is open",
    "RFXSTDTC": "Earliest study-drug start date",
    "RFXENDTC": "Latest study-drug end date; null while a dispensing period is open",
    "RFPENDTC": "End-of-study date, else date of death, else the last date known alive",
    "DTHFL": "Y when a death is recorded",
    "AGE": "Completed years from the date of birth to the randomisation date",
    "ACTARMCD": "ARMCD of the arm of every kit dispensed (the planned arm if no kit is "
    "recorded); null without study drug or with kits of more than one arm",
    "ACTARM": "ARM of the arm of every kit dispensed (as ACTARMCD)",
    "ARMNRS": "ASSIGNED, NOT TREATED without study drug; UNPLANNED TREATMENT when the kits "
    "dispensed came from more than one arm",
    "COUNTRY": "ISO 3166-1 alpha-3 code of the country of the patient's site",
    "EPOCH": "SCREENING before randomisation, TREATMENT up to the end-of-treatment date, "
    "FOLLOW-UP after it",
    "AEOUT": "FATAL for CTCAE grade 5, RECOVERED/RESOLVED with an end date, NOT RECOVERED/NOT "
    "RESOLVED when ongoing",
    "TRSTRESC": "TRORRES; the millimetres as text for a measurement",
    "TRSTRESN": "The measurement in mm; 5 mm for a lesion too small to measure (RECIST 1.1)",
    "TRSTRESU": "mm for a measurement",
    "RSORRES": "RECIST 1.1 response computed by trialkit from the TR measurements and the new "
    "lesions recorded",
    "RSSTRESC": "RSORRES",
    "RSDTC": "Date of the assessment; for BESTRESP the date of the assessment it comes from",
}
"""How each derived variable is computed (define.xml MethodDefs), by name (``SEQ`` for
every ``--SEQ``)."""


def derivation(name: str) -> str:
    """The derivation text of a derived variable."""
    return DERIVATIONS["SEQ" if name.endswith("SEQ") else name]
