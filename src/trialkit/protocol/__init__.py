"""The protocol as data: the model, the loader and the bundled protocols."""

from trialkit.protocol.loader import bundled_protocols, load_protocol, parse_protocol
from trialkit.protocol.model import Criterion, Design, DesignClaim, Protocol

__all__ = [
    "Criterion",
    "Design",
    "DesignClaim",
    "Protocol",
    "bundled_protocols",
    "load_protocol",
    "parse_protocol",
]
