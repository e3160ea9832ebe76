"""Fill the English catalogue: every message whose translation is empty reads as written.

Run by ``make i18n`` after ``pybabel update``; other languages are translated by people.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main(path: str) -> None:
    po = Path(path)
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale="en")
    for message in catalogue:
        if message.id and not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    catalogue.fuzzy = False  # the header: English is complete by construction
    with po.open("wb") as handle:
        write_po(handle, catalogue, sort_output=True, no_location=True)


if __name__ == "__main__":
    main(sys.argv[1])
