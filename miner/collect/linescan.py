"""One cheap question about a raw dump line: is it a submission no query can match?

Most in-scope lines of a dump match nothing, and for those an import needs only the
submission's id (to know its comments can be dropped). Parsing a 3 KB line with orjson
costs ~6 µs; a single pass of Hyperscan over the raw bytes (~2 µs, case-insensitive, no
lower-casing) answers "does it contain a needle some query needs?" (for a plan's
templates: a product name) together with the shape checks below, and the id is read
from the bytes. Where Hyperscan is missing (it is an optional,
x86-first library) a pure-Python scan gives the same answers, ~10x slower.

A line takes the quick path only when it is plainly one whole submission: it starts with
``{`` and ends with ``}``, has exactly one ``"name":"t3_..."`` key, no ``"link_id"`` (a
comment) and no ``"crosspost_parent"`` (nested objects carry another post's name and
subreddit). Inside JSON strings quotes are escaped, so text cannot fake these keys.
Everything else, and every line that contains a needle, is parsed in full.
"""

from __future__ import annotations

import re
from typing import Iterable

try:  # pragma: no cover - which branch runs depends on the platform
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None

_NAME = re.compile(rb'"name"\s*:\s*"t3_')
_ID = re.compile(rb"[0-9a-z]{1,16}")
# A comment, a crosspost, or one of the two characters whose lower case is ASCII (Kelvin
# sign, dotted capital I), raw or JSON-escaped: the byte scan cannot judge these lines.
_STOPPERS = (b'"link_id"', b'"crosspost_parent"', "\u212a".encode(), "\u0130".encode())
_ESCAPED_STOPPERS = (b"\\u212a", b"\\u0130")


class LineScanner:
    """Finds whole submission lines that contain none of ``needles`` (lower-case ASCII)."""

    def __init__(self, needles: Iterable[str], *, use_hyperscan: bool = True) -> None:
        self.needles = tuple(sorted({n.lower() for n in needles}))
        if not self.needles or not all(self.needles):
            raise ValueError("a line scanner needs non-empty needles")
        self._needles_b = tuple(n.encode() for n in self.needles)
        self._db = _compile(self.needles) if use_hyperscan and hyperscan is not None else None
        self._found: list[tuple[int, int]] = []
        self.engine = "hyperscan" if self._db is not None else "python"

    def quiet_submission(self, line: bytes) -> str | None:
        """The submission id if ``line`` is a whole submission without any needle, else None."""
        if not (line.startswith(b"{") and (line.endswith(b"}") or line.rstrip().endswith(b"}"))):
            return None
        if self._db is not None:
            found = self._found
            found.clear()
            self._db.scan(line, match_event_handler=self._on_match)
            if len(found) != 1 or found[0][0] != _NAME_ID:
                return None  # a needle, a stopper, no name or two
            start = found[0][1]
        else:
            low = line.lower()
            if any(n in low for n in self._needles_b) or any(s in line for s in _STOPPERS) \
                    or any(s in low for s in _ESCAPED_STOPPERS):
                return None
            names = list(_NAME.finditer(line))
            if len(names) != 1:
                return None
            start = names[0].end()
        end = line.find(b'"', start)
        ident = line[start:end]
        return ident.decode() if end > 0 and _ID.fullmatch(ident) else None

    def _on_match(self, pattern: int, start: int, end: int, flags: int, context: object) -> bool:
        self._found.append((pattern, end))
        return False  # go on (stopping raises); every pattern but the name reports once at most


_NAME_ID = 0  # pattern 0; every other pattern (stoppers, needles) sends the line to the full parse


def _compile(needles: tuple[str, ...]):
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    once, caseless = hyperscan.HS_FLAG_SINGLEMATCH, hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
    expressions = [_NAME.pattern, b"|".join(map(re.escape, _STOPPERS)), b"|".join(map(re.escape, _ESCAPED_STOPPERS))]
    flags = [0, once, caseless]
    expressions += [re.escape(n).encode() for n in needles]
    flags += [caseless] * len(needles)
    db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=flags)
    return db
