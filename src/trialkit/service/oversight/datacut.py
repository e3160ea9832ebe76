"""Data cut packages: one signed zip of a locked database at a cut-off, and its verification.

The package holds the protocol version, the ADaM datasets (ADSL, ADTTE), the SDTM domains
with define.xml, the CDISC ODM export and the trial report (blinded or unblinded by the
maker's role), and ``manifest.json``: every member's SHA-256, who made it, when, the lock and
the audit chain's head; ``manifest.sig`` is the maker's Ed25519 signature of the manifest.
A package is made only while the trial's database lock is in force.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from trialkit.endpoints import ARM_COLUMNS, csv_text
from trialkit.errors import ConflictError, InputError, NotFoundError
from trialkit.report.html import render_html
from trialkit.service.capture.outcomes import derive_datasets
from trialkit.service.oversight.exports import Domain, odm_xml, sdtm_export
from trialkit.service.oversight.trial_report import trial_report
from trialkit.service.platform import audit
from trialkit.service.platform.anchors import Anchoring, anchor_on_commit, key_id
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.policy import Action, authorize, can_see_arm
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.tables.audit import AuditHead
from trialkit.service.platform.tables.people import User
from trialkit.service.trials.locks import LockView, database_lock
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "MANIFEST",
    "PACKAGE_KIND",
    "SIGNATURE",
    "DataCut",
    "PackageReport",
    "data_cut_lock",
    "make_data_cut",
    "verify_package",
]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PACKAGE_KIND = "trialkit-data-cut"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # members carry no time of their own: the manifest says when


@dataclass(frozen=True)
class DataCut:
    """A made package: its bytes, its manifest, and the name to save it under."""

    filename: str
    content: bytes
    manifest: dict[str, Any]


def _domain_csv(domain: Domain) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(domain.columns)
    writer.writerows(["" if v is None else v for v in row] for row in domain.rows)
    return out.getvalue().encode()


def _protocol_members(name: str, model_json: str) -> dict[str, bytes]:
    members = {"protocol/protocol.json": model_json.encode()}
    bundled = resources.files("trialkit.protocol.protocols") / f"{name}.yaml"
    if bundled.is_file():
        members[f"protocol/{name}.yaml"] = bundled.read_bytes()
    return members


def data_cut_lock(*, session: Session, actor: Principal, trial_id: int) -> LockView | None:
    """The database lock a data cut would be made under (``None``: not locked), for those who
    may make one."""
    authorize(actor, Action.MAKE_DATA_CUT, trial_id=trial_id)
    return database_lock(session, trial_id)


def make_data_cut(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    key: Ed25519PrivateKey,
    cutoff: dt.date | None = None,
    anchoring: Anchoring | None = None,
) -> DataCut:
    """Make the trial's data cut package at ``cutoff`` (default: the calendar date), signed
    with ``key``, the maker's own Ed25519 key. The trial's database must be locked.

    The report is unblinded when the maker's role sees arms (an unblinded statistician),
    blinded otherwise (a data manager); the datasets carry arms only in an unblinded package.
    Audited (``make_data_cut`` with the manifest's SHA-256); anchors the audit chain on commit.
    """
    grant = authorize(actor, Action.MAKE_DATA_CUT, trial_id=trial_id)
    trial = get_trial_or_raise(session, trial_id)
    lock = database_lock(session, trial.id)
    if lock is None:
        raise ConflictError(
            f"{trial.acronym}'s database is not locked: a data manager locks it first "
            "(a data cut is made of locked data only)"
        )
    unblinded = can_see_arm(grant.role)
    day = calendar_date(cutoff)
    protocol = trial_protocol(trial)
    members = _protocol_members(trial.protocol_name, protocol.model_dump_json(indent=2))
    datasets = derive_datasets(session=session, actor=actor, trial_id=trial.id, unblinded=unblinded)
    omit = () if unblinded else ARM_COLUMNS
    members["adam/adsl.csv"] = csv_text(datasets.adsl, omit=omit).encode()
    members["adam/adtte.csv"] = csv_text(datasets.adtte, omit=omit).encode()
    export = sdtm_export(session=session, actor=actor, trial_id=trial.id, unblinded=unblinded)
    for domain in export.domains:
        members[f"sdtm/{domain.name.lower()}.csv"] = _domain_csv(domain)
    members["sdtm/define.xml"] = export.define
    members["odm/odm.xml"] = odm_xml(session=session, actor=actor, trial_id=trial.id)
    document = trial_report(
        session=session, actor=actor, trial_id=trial.id, unblinded=unblinded, cutoff=day
    )
    members["report/report.html"] = render_html(document).encode()
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    head = session.get(AuditHead, 1)
    now = real_utcnow()
    public = key.public_key()
    manifest: dict[str, Any] = {
        "kind": PACKAGE_KIND,
        "trial": trial.acronym,
        "protocol": {"name": trial.protocol_name, "version": trial.protocol_version},
        "cutoff": day.isoformat(),
        "made_at": now.isoformat(),
        "made_by": {
            "username": actor.username,
            "full_name": user.full_name if user is not None else None,
            "role": grant.role.value,
        },
        "report": "unblinded" if unblinded else "blinded",
        "database_lock": {"id": lock.id, "since": lock.created_at.isoformat()},
        "audit_head": {
            "seq": head.last_seq if head else 0,
            "hash": head.last_hash if head else None,
        },
        "public_key": base64.b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode(),
        "key_id": key_id(public),
        "members": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(members.items())
        },
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    signature = base64.b64encode(key.sign(manifest_bytes))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members.items()):
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), data)
        archive.writestr(zipfile.ZipInfo(MANIFEST, _FIXED_TIME), manifest_bytes)
        archive.writestr(zipfile.ZipInfo(SIGNATURE, _FIXED_TIME), signature)
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="make_data_cut",
        entity="data_cut",
        entity_id=trial.id,
        changes={"manifest_sha256": (None, hashlib.sha256(manifest_bytes).hexdigest())},
        reason=f"{manifest['report']} data cut at {day.isoformat()} under lock {lock.id}",
    )
    anchor_on_commit(session, anchoring, reason=f"data cut of {trial.acronym} at {day}")
    filename = f"{trial.acronym.lower()}-datacut-{day.isoformat()}-{now:%Y%m%dT%H%M%SZ}.zip"
    return DataCut(filename, buffer.getvalue(), manifest)


@dataclass(frozen=True)
class PackageReport:
    """What verifying a package found: ``problems`` empty means it verifies."""

    package: str
    manifest: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    tampered: list[str] = field(default_factory=list)
    """The members (or ``manifest.json``) that do not match."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            return f"{self.package} does not verify: " + "; ".join(self.problems)
        assert self.manifest is not None
        who = self.manifest["made_by"]
        return (
            f"{self.package} verifies: {len(self.manifest['members'])} members, "
            f"{self.manifest['report']} data cut of {self.manifest['trial']} at "
            f"{self.manifest['cutoff']}, signed by {who['full_name'] or who['username']} "
            f"({who['role']}, key {self.manifest['key_id'][:16]}) on {self.manifest['made_at']}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "package": self.package,
            "ok": self.ok,
            "problems": self.problems,
            "tampered": self.tampered,
            "manifest": self.manifest,
        }


def verify_package(path: Path, *, public: Ed25519PublicKey | None = None) -> PackageReport:
    """Check a package: the manifest's signature (with the maker's key ``public``, else the
    key the manifest names), and every member against its SHA-256; names what does not match."""
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise NotFoundError(f"no package {path}", location=name) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a zip archive ({exc})", location=name) from exc
    with archive:
        names = set(archive.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            return PackageReport(name, None, [f"{MANIFEST} or {SIGNATURE} is missing"])
        manifest_bytes = archive.read(MANIFEST)
        try:
            manifest = json.loads(manifest_bytes)
            signature = base64.b64decode(archive.read(SIGNATURE), validate=True)
            embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest["public_key"]))
            listed: dict[str, dict[str, Any]] = manifest["members"]
        except (ValueError, KeyError, TypeError) as exc:
            return PackageReport(name, None, [f"{MANIFEST} is not a data cut manifest ({exc})"])
        report = PackageReport(name, manifest)
        if manifest.get("kind") != PACKAGE_KIND:
            report.problems.append(f"{MANIFEST} is not a trialkit data cut manifest")
        if public is not None and key_id(public) != key_id(embedded):
            report.problems.append(
                f"it was signed with key {manifest.get('key_id', '?')[:16]}, not with the "
                f"key given ({key_id(public)[:16]})"
            )
        try:
            embedded.verify(signature, manifest_bytes)
        except InvalidSignature:
            report.tampered.append(MANIFEST)
            report.problems.append(
                f"{MANIFEST} was altered: its signature does not verify with the maker's key"
            )
        for member, expected in sorted(listed.items()):
            if member not in names:
                report.tampered.append(member)
                report.problems.append(f"{member} is missing")
                continue
            actual = hashlib.sha256(archive.read(member)).hexdigest()
            if actual != expected.get("sha256"):
                report.tampered.append(member)
                report.problems.append(f"{member} was altered: its SHA-256 is not the manifest's")
        for extra in sorted(names - set(listed) - {MANIFEST, SIGNATURE}):
            report.tampered.append(extra)
            report.problems.append(f"{extra} is not in the manifest (added after signing)")
    return report
