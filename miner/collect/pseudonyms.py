"""Pseudonymize people before anything is stored.

Raw usernames never reach the warehouse: authors become keyed hashes (HMAC-SHA256 with the
installation's secret), and ``u/name`` mentions in text become ``u/anon_<hash>`` with the
same key, so a mention of someone and their own posts still line up for deduplication and
incident linking, while nobody without the secret can test a guessed username against the
warehouse. The same scrub runs over raw payloads before they are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

# Not a real author: deleted accounts, and the placeholders dumps and redacted exports write
# ("[redacted]" for every author in the dev data would make semantic dedup see one author).
DELETED_AUTHORS = {"[deleted]", "[removed]", "[redacted]", "[unknown]", ""}

# u/name, /u/name, reddit.com/u/name, reddit.com/user/name (Reddit names: 3-20 of [A-Za-z0-9_-])
_HANDLE = re.compile(
    r"(?i)(?P<prefix>(?<![\w/])/?u/|reddit\.com/u(?:ser)?/)(?P<name>[A-Za-z0-9_-]{3,20})(?![A-Za-z0-9_-])"
)
_AUTHOR_KEYS = {"author", "author_fullname", "approved_by", "banned_by", "removed_by",
                "mod_reason_by", "link_author"}


class Pseudonymizer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "Pseudonymizer(secret=***)"

    def _digest(self, name: str) -> str:
        return hmac.new(self._secret, name.lower().encode(), hashlib.sha256).hexdigest()

    def author(self, name: str | None) -> str | None:
        """``a_`` + 16 hex characters, or None for deleted and missing authors."""
        if name is None or name in DELETED_AUTHORS:
            return None
        return "a_" + self._digest(name)[:16]

    def mask_handles(self, text: str | None) -> str | None:
        """Replace every Reddit username mention by a stable pseudonym."""
        if not text or "/" not in text:  # the common case, without lower-casing anything
            return text
        low = text.lower()
        if "u/" not in low and "/user/" not in low:
            return text
        return _HANDLE.sub(lambda m: f"{m.group('prefix')}anon_{self._digest(m.group('name'))[:8]}", text)

    def scrub(self, obj: Any) -> Any:
        """A copy of a JSON payload with author fields hashed and handles masked."""
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if type(v) is str:  # the common case inline: payloads have ~100 fields
                    if k in _AUTHOR_KEYS:
                        out[k] = v if v in DELETED_AUTHORS else self.author(v)
                    else:
                        out[k] = self.mask_handles(v) if "/" in v else v
                elif isinstance(v, (dict, list, str)):
                    out[k] = self.scrub(v)
                else:
                    out[k] = v
            return out
        if isinstance(obj, list):
            return [self.scrub(v) for v in obj]
        if isinstance(obj, str):
            return self.mask_handles(obj)
        return obj
