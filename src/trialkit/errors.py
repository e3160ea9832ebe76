"""The one exception tree of trialkit.

Every error that trialkit raises on purpose derives from :class:`TrialkitError`.
Domain errors know nothing of HTTP or of the command line: the API translates
them into 4xx responses with field paths, the CLI into exit code 2 and one line
on stderr.

::

    TrialkitError
    ├── InputError                  bad input from a user or a file; says where and how to fix it
    │   ├── ProtocolError           a protocol file that cannot be read or does not validate
    │   ├── RecordError             a screening (or other patient) record that does not validate
    │   ├── DesignInputError        design / simulation parameters that are invalid or contradictory
    │   └── ConfigError             settings that are missing or unsafe (e.g. a default secret key)
    ├── RuleError                   a protocol rule that cannot be compiled or evaluated
    ├── RandomisationError          an allocation cannot be made (list exhausted, bad stratum)
    │   └── SupplyError             no dispensable kit, or a kit list that cannot serve a request
    │       └── SupplyShortError    a site short of a kit; the resupply request it raised is kept
    ├── NotFoundError               something looked up by name or id does not exist (or is not
    │                               yours to see: another site's patient reads as absent)
    ├── ConflictError               the request contradicts what is recorded (a duplicate, a state)
    │   └── InactiveSiteError       the site may not recruit yet: no ethics approval or activation
    ├── AuthenticationError         who is asking is unknown: bad credentials, expired session,
    │   │                           locked account
    │   ├── PasswordRefusedError    a failed password check; its count, lock-out and audit are kept
    │   ├── SessionTimeoutError     a session that ended after a spell without activity
    │   └── SessionExpiredError     a session that reached its absolute lifetime
    └── PermissionDenied            the user is known but their roles do not allow the action
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DesignInputError",
    "InactiveSiteError",
    "InputError",
    "NotFoundError",
    "PasswordRefusedError",
    "PermissionDenied",
    "ProtocolError",
    "RandomisationError",
    "RecordError",
    "RuleError",
    "SessionExpiredError",
    "SessionTimeoutError",
    "SupplyError",
    "SupplyShortError",
    "TrialkitError",
]


class TrialkitError(Exception):
    """Base class of every error trialkit raises on purpose.

    Parameters
    ----------
    message
        What was wrong and how to fix it, in one sentence a user can act on.
    location
        Where the problem is: a file, a field path (``labs.alt.value``), or
        ``file:line``. Empty when the message says it all.

    ``keeps_record`` is true for the few refusals that the service has already recorded in
    the caller's transaction (an audit event): :func:`trialkit.service.platform.transaction` commits
    that record before the error goes on to become a 401, a page or an exit code. It is the
    one way a refusal keeps what it recorded: a failed password check
    (:class:`PasswordRefusedError`), a session's end (:class:`SessionTimeoutError`,
    :class:`SessionExpiredError`), a shortage's resupply request (:class:`SupplyShortError`).
    """

    keeps_record: ClassVar[bool] = False

    def __init__(self, message: str, *, location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InputError(TrialkitError):
    """Bad input from a user or a file."""


class ProtocolError(InputError):
    """A protocol file that cannot be read or does not validate."""


class RecordError(InputError):
    """A patient record (for example a screening record) that does not validate.

    ``location`` and ``message`` name the first invalid value; ``problems`` lists every
    invalid value found as (location, message), the first of them this error's own (a form
    page shows each next to its field).
    """

    def __init__(
        self, message: str, *, location: str = "", problems: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message, location=location)
        self.problems = problems or ((location, message),)


class DesignInputError(InputError):
    """Design or simulation parameters that are out of range or contradict each other."""


class RuleError(TrialkitError):
    """A protocol rule that cannot be compiled or evaluated (a defect in the protocol file)."""


class RandomisationError(TrialkitError):
    """An allocation cannot be made; the message never names an arm."""


class SupplyError(RandomisationError):
    """No dispensable kit, or a kit list that cannot serve the request; never names an arm."""


class SupplyShortError(SupplyError):
    """A site short of a kit, whose shortage raised a resupply request in the same call.

    The refusal must not roll the request back (the site would stay short, and every later
    attempt would raise and lose it again), so the caller's transaction commits it: the
    service raises this only before it has changed anything else.
    """

    keeps_record: ClassVar[bool] = True


class NotFoundError(TrialkitError):
    """Something looked up by name or identifier does not exist."""


class ConfigError(InputError):
    """Settings that are missing or unsafe; the service refuses to start with them."""


class ConflictError(TrialkitError):
    """The request contradicts what is recorded: a duplicate, or an action the state forbids."""


class InactiveSiteError(ConflictError):
    """A site that may not recruit: its ethics approval or its activation is missing."""


class AuthenticationError(TrialkitError):
    """The caller could not be identified: bad credentials, expired session or locked account."""


class PermissionDenied(TrialkitError):  # noqa: N818 - the name every web framework uses
    """The caller is known, but none of their roles allows the action."""


class PasswordRefusedError(AuthenticationError):
    """A password check that failed: a login, or a password re-entered to confirm an act.

    The failure count, any lock-out it brought and the audit event are recorded before this
    is raised, so the caller's transaction commits them (else a password could be guessed
    without ever reaching the lock-out). ``locked``: the account is locked (now or already).
    """

    keeps_record: ClassVar[bool] = True

    def __init__(self, message: str, *, location: str = "", locked: bool = False) -> None:
        super().__init__(message, location=location)
        self.locked = locked


class SessionTimeoutError(AuthenticationError):
    """A session that ended after the idle timeout; its end is recorded, so commit it."""

    keeps_record: ClassVar[bool] = True


class SessionExpiredError(AuthenticationError):
    """A session that reached its absolute lifetime; its end is recorded, so commit it."""

    keeps_record: ClassVar[bool] = True
