"""One cheap question about a raw dump line: is it a submission no query can match?

Most in-scope lines of a dump match nothing, and for those an import needs only the
submission's id (to know its comments can be dropped). Parsing a 3 KB line with orjson
costs ~6 µs; a single pass of Hyperscan over the raw bytes (~1.7 µs, case-insensitive, no
lower-casing) answers "does it contain any query's needle?" together with the shape checks
below, and the id is read from the bytes. Where Hyperscan is missing (it is an optional,
x86-first library) a pure-Python scan gives the same answers, ~10x slower.

A line takes the quick path only when it is plainly one whole submission: it starts with
``{`` and ends with ``}``, has exactly one ``"name":"t3_..."`` key, no ``"link_id"`` (a
comment) and no ``"crosspost_parent"`` (nested objects carry another post's name and
subreddit). Inside JSON strings quotes are escaped, so text cannot fake these keys.
Everything else, and every line that contains a needle, is parsed in full.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

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
    """Finds whole submission lines that no query can match.

    ``queries`` gives, per query, its needle clauses (:func:`miner.query.needle_clauses`):
    a query can match a line only if every one of its clauses has a needle in the line. The
    scan reports which needles occur (as a bit mask); the verdict per mask is cached, since
    lines repeat the same few combinations.
    """

    def __init__(self, queries: Iterable[Sequence[frozenset[str]]], *, use_hyperscan: bool = True) -> None:
        clauses = [tuple(q) for q in queries]
        if not clauses or any(not q for q in clauses):
            raise ValueError("every query needs at least one needle clause to be prefiltered")
        self.needles = tuple(sorted({n for q in clauses for cl in q for n in cl}))
        bit = {n: 1 << i for i, n in enumerate(self.needles)}
        self._bits = tuple((n.encode(), bit[n]) for n in self.needles)
        self._queries = tuple(tuple(sum(bit[n] for n in cl) for cl in q) for q in clauses)
        self._verdicts: dict[int, bool] = {}
        self._db = _compile(self.needles) if use_hyperscan and hyperscan is not None else None
        self._found: list[tuple[int, int]] = []
        self.engine = "hyperscan" if self._db is not None else "python"

    def could_match(self, mask: int) -> bool:
        """Whether some query has a needle of each of its clauses among ``mask``'s needles."""
        verdict = self._verdicts.get(mask)
        if verdict is None:
            verdict = any(all(clause & mask for clause in q) for q in self._queries)
            if len(self._verdicts) < 1 << 16:
                self._verdicts[mask] = verdict
        return verdict

    def quiet_submission(self, line: bytes) -> str | None:
        """The submission id if ``line`` is a whole submission no query can match, else None."""
        if not (line[:1] == b"{" and (line.endswith(b"}") or line.rstrip().endswith(b"}"))):
            return None
        mask = 0
        if self._db is not None:
            found = self._found
            found.clear()
            self._db.scan(line, match_event_handler=self._on_match)
            start = -1
            for pattern, end in found:
                if pattern >= _NEEDLE_BASE:
                    mask |= 1 << (pattern - _NEEDLE_BASE)
                elif pattern != _NAME_ID or start >= 0:
                    return None  # a stopper, or a second name
                else:
                    start = end
            if start < 0:
                return None
        else:
            low = line.lower()
            if any(s in line for s in _STOPPERS) or any(s in low for s in _ESCAPED_STOPPERS):
                return None
            names = list(_NAME.finditer(line))
            if len(names) != 1:
                return None
            start = names[0].end()
            for needle, bit in self._bits:
                if needle in low:
                    mask |= bit
        if mask and self.could_match(mask):
            return None
        end = line.find(b'"', start)
        ident = line[start:end]
        return ident.decode() if end > 0 and _ID.fullmatch(ident) else None

    def _on_match(self, pattern: int, start: int, end: int, flags: int, context: object) -> bool:
        self._found.append((pattern, end))
        return False  # go on (stopping raises); every pattern but the name reports once at most


_NAME_ID = 0
_NEEDLE_BASE = 3  # patterns 1 and 2 are the stoppers


def _compile(needles: tuple[str, ...]):
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    once, caseless = hyperscan.HS_FLAG_SINGLEMATCH, hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
    expressions = [_NAME.pattern, b"|".join(map(re.escape, _STOPPERS)), b"|".join(map(re.escape, _ESCAPED_STOPPERS))]
    flags = [0, once, caseless]
    expressions += [re.escape(n).encode() for n in needles]
    flags += [caseless] * len(needles)
    db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=flags)
    return db
