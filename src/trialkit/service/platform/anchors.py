"""Anchors of the audit trail outside its database: the chain's head signed with a key the
operator holds (Ed25519), one file per anchor in a directory the operator chooses.

Someone with database rights can rewrite the chain and its head together so that the chain
verifies on its own; they cannot sign an anchor without the operator's key, so the rewritten
chain no longer has the hash an anchor signed at that event. An anchor is written at every
lock and data cut (after its transaction commits) and whenever ``trialkit audit anchor``
runs (from the operator's scheduler); ``trialkit audit verify --anchors DIR`` checks them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from trialkit.errors import ConfigError, InputError
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.tables.audit import (
    GENESIS_HASH,
    AuditHead,
    event_hash,
    iter_events,
)

__all__ = [
    "ANCHOR_KIND",
    "AnchorCheck",
    "AnchorReport",
    "Anchoring",
    "anchor_now",
    "anchor_on_commit",
    "canonical",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_private_key_bytes",
    "load_public_key",
    "verify_anchors",
]

ANCHOR_KIND = "trialkit-audit-anchor"


def canonical(value: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): what a signature signs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in hex: names the key in anchors and manifests."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_key(path: Path) -> Ed25519PublicKey:
    """Write a new Ed25519 private key (PEM, readable by its owner only) to ``path``."""
    if path.exists():
        raise InputError(f"{path} exists; choose another file (a key is never overwritten)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    return key.public_key()


def load_private_key(path: Path, *, what: str = "the signing key") -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file, or an error naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}", location=str(path)) from exc
    return load_private_key_bytes(data, what=f"{path} ({what})", location=str(path))


def load_private_key_bytes(
    data: bytes, *, what: str = "the signing key", location: str = "key"
) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM bytes (an uploaded key file), or an error."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{what} is not an unencrypted PEM private key; make one with 'trialkit audit keygen'",
            location=location,
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{what} is not an Ed25519 key", location=location)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a private key's file gives its public key)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key {path}: {exc.strerror}", location=str(path)) from exc
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path} is not a PEM key", location=str(path)) from exc
        public = private.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 key", location=str(path))
    return public


@dataclass(frozen=True)
class Anchoring:
    """Where anchors go and the key that signs them (from ``TRIALKIT_AUDIT_ANCHOR_KEY`` and
    ``TRIALKIT_AUDIT_ANCHOR_DIR``)."""

    key: Ed25519PrivateKey
    directory: Path

    @classmethod
    def from_paths(cls, key: Path | None, directory: Path | None) -> Anchoring | None:
        """The anchoring set up by the settings; ``None`` when neither is set."""
        if key is None and directory is None:
            return None
        if key is None or directory is None:
            raise ConfigError(
                "set both TRIALKIT_AUDIT_ANCHOR_KEY (the operator's Ed25519 key file) and "
                "TRIALKIT_AUDIT_ANCHOR_DIR (where the anchors go), or neither",
                location="TRIALKIT_AUDIT_ANCHOR_DIR" if key else "TRIALKIT_AUDIT_ANCHOR_KEY",
            )
        return cls(load_private_key(key, what="the audit anchor key"), directory)

    def write(self, *, seq: int, head_hash: str, reason: str) -> Path:
        """Sign the head (``seq``, ``head_hash``) and write it as a new anchor file."""
        now = real_utcnow()
        anchor = {
            "kind": ANCHOR_KIND,
            "seq": seq,
            "head_hash": head_hash,
            "anchored_at": now.isoformat(),
            "reason": reason,
            "key_id": key_id(self.key.public_key()),
        }
        signature = base64.b64encode(self.key.sign(canonical(anchor))).decode()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"anchor-{seq:012d}-{now:%Y%m%dT%H%M%S%fZ}.json"
        text = json.dumps({"anchor": anchor, "signature": signature}, indent=2) + "\n"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        return path


def _head(session: Session) -> tuple[int, str]:
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).first()
    return (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))


def anchor_now(session: Session, anchoring: Anchoring, *, reason: str) -> Path:
    """Sign the chain's head as committed now and write the anchor (``trialkit audit anchor``)."""
    seq, head_hash = _head(session)
    return anchoring.write(seq=seq, head_hash=head_hash, reason=reason)


def anchor_on_commit(session: Session, anchoring: Anchoring | None, *, reason: str) -> None:
    """Anchor the head this transaction leaves, once it commits (never a rolled-back head).

    Call it after the transaction's last audit event (a lock, a data cut); the head is read
    now, under the head's lock that the append holds until commit.
    """
    if anchoring is None:
        return
    session.flush()
    seq, head_hash = _head(session)

    def write(_: Session) -> None:
        anchoring.write(seq=seq, head_hash=head_hash, reason=reason)

    event.listen(session, "after_commit", write, once=True)


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor file and what verifying it found (``problem`` empty: it holds)."""

    file: str
    seq: int | None
    anchored_at: str | None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "seq": self.seq,
            "anchored_at": self.anchored_at,
            "ok": self.problem is None,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class AnchorReport:
    """Every anchor checked against the chain; intact when every one holds."""

    directory: str
    checks: tuple[AnchorCheck, ...]

    @property
    def intact(self) -> bool:
        return bool(self.checks) and all(c.problem is None for c in self.checks)

    def summary(self) -> str:
        if not self.checks:
            return f"no anchors in {self.directory}: nothing proves the chain outside the database"
        bad = [c for c in self.checks if c.problem is not None]
        if not bad:
            last = max(c.seq or 0 for c in self.checks)
            return (
                f"the audit chain matches all {len(self.checks)} anchors in {self.directory} "
                f"(up to event {last})"
            )
        return "; ".join(f"anchor {c.file}: {c.problem}" for c in bad)

    def as_dict(self) -> dict[str, object]:
        return {
            "intact": self.intact,
            "directory": self.directory,
            "anchors": [c.as_dict() for c in self.checks],
        }


def _read(path: Path, public: Ed25519PublicKey) -> tuple[dict[str, Any] | None, AnchorCheck]:
    """The anchor in ``path`` if its signature holds, else the check naming the problem."""
    name = path.name
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        anchor = content["anchor"]
        signature = base64.b64decode(content["signature"], validate=True)
        seq, head_hash = int(anchor["seq"]), str(anchor["head_hash"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, AnchorCheck(name, None, None, f"not a readable anchor ({exc})")
    at = str(anchor.get("anchored_at"))
    if anchor.get("kind") != ANCHOR_KIND or seq < 0 or len(head_hash) != 64:
        return None, AnchorCheck(name, seq, at, "not a trialkit audit anchor")
    try:
        public.verify(signature, canonical(anchor))
    except InvalidSignature:
        return None, AnchorCheck(
            name,
            seq,
            at,
            "its signature does not verify with the operator's key (forged or "
            "edited anchor, or another key)",
        )
    return anchor, AnchorCheck(name, seq, at)


def verify_anchors(session: Session, directory: Path, public: Ed25519PublicKey) -> AnchorReport:
    """Check every ``*.json`` anchor in ``directory``: its signature with ``public``, and that
    the chain, walked from its start, has the anchored hash at the anchored event."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory of anchors", location="--anchors")
    pending: dict[int, list[tuple[dict[str, Any], AnchorCheck]]] = {}
    done: list[AnchorCheck] = []
    for path in sorted(directory.glob("*.json")):
        anchor, check = _read(path, public)
        if anchor is None:
            done.append(check)
        elif check.seq == 0:
            ok = anchor["head_hash"] == GENESIS_HASH
            done.append(check if ok else _broken(check, 0, GENESIS_HASH))
        else:
            pending.setdefault(int(anchor["seq"]), []).append((anchor, check))
    expected_prev, expected_seq = GENESIS_HASH, 1
    broken: str | None = None
    for audit_event in iter_events(session):
        if not pending:
            break
        if broken is None:
            if audit_event.seq != expected_seq:
                broken = f"events {expected_seq}..{audit_event.seq - 1} are missing"
            elif (
                audit_event.prev_hash != expected_prev
                or event_hash(audit_event) != audit_event.hash
            ):
                broken = f"the chain is broken at event {audit_event.seq}"
        for anchor, check in pending.pop(audit_event.seq, []):
            if broken is not None:
                done.append(
                    AnchorCheck(
                        check.file,
                        check.seq,
                        check.anchored_at,
                        f"{broken} (at or before the anchored event)",
                    )
                )
            elif anchor["head_hash"] != audit_event.hash:
                done.append(_broken(check, audit_event.seq, audit_event.hash))
            else:
                done.append(check)
        expected_prev, expected_seq = audit_event.hash, audit_event.seq + 1
    for items in pending.values():
        for _, check in items:
            done.append(
                AnchorCheck(
                    check.file,
                    check.seq,
                    check.anchored_at,
                    f"the chain ends before event {check.seq}: events anchored were removed",
                )
            )
    return AnchorReport(str(directory), tuple(sorted(done, key=lambda c: (c.seq or 0, c.file))))


def _broken(check: AnchorCheck, seq: int, actual: str) -> AnchorCheck:
    return AnchorCheck(
        check.file,
        check.seq,
        check.anchored_at,
        f"the chain's hash at event {seq} is {actual[:16]}..., not the anchored one: the "
        "chain was rewritten at or before that event",
    )
