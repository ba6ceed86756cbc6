"""Named annotators, their tokens, settings and sign-in sessions (for ``miner serve``).

A token is shown once, when it is made (``miner annotator add`` / ``token``); the warehouse keeps
only its SHA-256, so a copy of the warehouse does not let anyone sign in as somebody else. Tokens
are 32 random bytes, so a fast hash is enough (there is nothing to brute-force, unlike a
password). Sessions work the same way: the browser's cookie holds a random id, the warehouse its
hash. Settings are what keeps reading bearable: blur, break reminders, categories opted out of.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.triage.care import check_categories

BLUR_MODES = ("flagged", "all", "off")
SESSION_HOURS = 12
IDLE_BREAK_MINUTES = 15  # this long without a request counts as a break
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass
class Annotator:
    name: str
    blur: str = "flagged"
    break_minutes: float = 50.0
    opt_out: list[str] = field(default_factory=list)
    token_expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime | None = None


@dataclass
class Session:
    annotator: Annotator
    session_hash: str
    created_at: datetime
    expires_at: datetime
    active_since: datetime


class AuthError(MinerError):
    """Sign-in failed or lapsed; the message says which and what to do."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token() -> str:
    return "mt_" + secrets.token_urlsafe(32)


def _row_to_annotator(r: dict) -> Annotator:
    return Annotator(name=r["name"], blur=r["blur"], break_minutes=r["break_minutes"], opt_out=list(r["opt_out"] or []),
                     token_expires_at=r["token_expires_at"], revoked_at=r["revoked_at"], created_at=r["created_at"])


def add(wh: Warehouse, name: str, *, expires_days: float | None = None) -> str:
    """Create an annotator; returns their token (the only time it can be seen)."""
    if not _NAME.match(name or ""):
        raise MinerError(f"annotator: {name!r} is not a usable name (letters, digits, _ . -; up to 40 characters)")
    if wh.scalar("SELECT count(*) FROM annotators WHERE name = ?", [name]):
        raise MinerError(f"annotator: {name} exists already (new token: miner annotator token {name})")
    token, now = _new_token(), now_utc()
    wh.insert("annotators", [{"name": name, "token_hash": _hash(token), "created_at": now, "updated_at": now,
                              "token_expires_at": now + timedelta(days=expires_days) if expires_days else None}])
    return token


def active_count(wh: Warehouse) -> int:
    """Annotators who can sign in (not revoked)."""
    return wh.scalar("SELECT count(*) FROM annotators WHERE revoked_at IS NULL")


def label_counts(wh: Warehouse) -> dict[str, int]:
    """Labels that count (``v_annotations_current``) per annotator."""
    return dict(wh.rows("SELECT annotator, count(*) FROM v_annotations_current GROUP BY ALL"))


def get(wh: Warehouse, name: str) -> Annotator:
    rows = wh.dicts("SELECT * FROM annotators WHERE name = ?", [name])
    if not rows:
        raise MinerError(f"annotator: no annotator called {name} (see `miner annotator list`)")
    return _row_to_annotator(rows[0])


def listing(wh: Warehouse) -> list[Annotator]:
    return [_row_to_annotator(r) for r in wh.dicts("SELECT * FROM annotators ORDER BY name")]


def new_token(wh: Warehouse, name: str, *, expires_days: float | None = None) -> str:
    """Replace ``name``'s token (lost, leaked or expired); their open sessions end."""
    get(wh, name)
    token, now = _new_token(), now_utc()
    with wh.transaction():
        wh.execute("UPDATE annotators SET token_hash = ?, token_expires_at = ?, revoked_at = NULL, updated_at = ? "
                   "WHERE name = ?", [_hash(token), now + timedelta(days=expires_days) if expires_days else None, now,
                                      name])
        end_sessions(wh, name)
    return token


def revoke(wh: Warehouse, name: str) -> None:
    """Stop ``name`` signing in (their annotations stay); open sessions end now."""
    get(wh, name)
    now = now_utc()
    with wh.transaction():
        wh.execute("UPDATE annotators SET revoked_at = ?, updated_at = ? WHERE name = ?", [now, now, name])
        end_sessions(wh, name)


def update_settings(wh: Warehouse, name: str, *, blur: str | None = None, break_minutes: float | None = None,
                    opt_out: list[str] | None = None) -> Annotator:
    a = get(wh, name)
    if blur is not None and blur not in BLUR_MODES:
        raise MinerError(f"blur: {blur!r} is not one of {', '.join(BLUR_MODES)}")
    if break_minutes is not None and not 0 <= break_minutes <= 24 * 60:
        raise MinerError(f"break minutes: {break_minutes} is not between 0 (never) and 1440")
    wh.execute("UPDATE annotators SET blur = ?, break_minutes = ?, opt_out = ?, updated_at = ? WHERE name = ?",
               [blur if blur is not None else a.blur,
                float(break_minutes) if break_minutes is not None else a.break_minutes,
                check_categories(opt_out) if opt_out is not None else a.opt_out, now_utc(), name])
    return get(wh, name)


# -- signing in ---------------------------------------------------------------------------------
def authenticate(wh: Warehouse, token: str) -> Annotator:
    """The annotator a token belongs to, or an AuthError saying why not."""
    token = (token or "").strip()
    rows = wh.dicts("SELECT * FROM annotators WHERE token_hash = ?", [_hash(token)]) if token else []
    if not rows:
        raise AuthError("That token is not valid. Check it was copied whole, or ask for a new one.")
    a = _row_to_annotator(rows[0])
    if a.revoked_at is not None:
        raise AuthError(f"The token for {a.name} was withdrawn. Ask for a new one (miner annotator token {a.name}).")
    if a.token_expires_at is not None and a.token_expires_at <= now_utc():
        raise AuthError(f"The token for {a.name} expired on {a.token_expires_at:%Y-%m-%d %H:%M} UTC. "
                        f"Ask for a new one (miner annotator token {a.name}).")
    return a


def start_session(wh: Warehouse, annotator: Annotator, *, hours: float = SESSION_HOURS) -> str:
    """A new session for a signed-in annotator; returns the cookie value."""
    sid, now = secrets.token_urlsafe(32), now_utc()
    wh.insert("web_sessions", [{"session_hash": _hash(sid), "annotator": annotator.name, "created_at": now,
                                "expires_at": now + timedelta(hours=hours), "active_since": now, "last_seen_at": now,
                                "ended_at": None}])
    return sid


def session(wh: Warehouse, sid: str | None) -> Session:
    """The live session behind a cookie, or an AuthError (signed out, expired, token withdrawn)."""
    if not sid:
        raise AuthError("Please sign in with your token.")
    rows = wh.dicts("SELECT s.*, a.revoked_at, a.token_expires_at FROM web_sessions s JOIN annotators a "
                    "ON a.name = s.annotator WHERE s.session_hash = ?", [_hash(sid)])
    if not rows or rows[0]["ended_at"] is not None:
        raise AuthError("You are signed out. Please sign in with your token.")
    r, now = rows[0], now_utc()
    if r["revoked_at"] is not None:
        raise AuthError("Your token was withdrawn. Ask for a new one.")
    if r["expires_at"] <= now or (r["token_expires_at"] is not None and r["token_expires_at"] <= now):
        raise AuthError("Your session expired. Sign in again; whatever you saved before is kept.")
    active = r["active_since"]
    if now - r["last_seen_at"] > timedelta(minutes=IDLE_BREAK_MINUTES):
        active = now  # they were away: the break clock starts again
    wh.execute("UPDATE web_sessions SET last_seen_at = ?, active_since = ? WHERE session_hash = ?",
               [now, active, r["session_hash"]])
    return Session(get(wh, r["annotator"]), r["session_hash"], r["created_at"], r["expires_at"], active)


def end_session(wh: Warehouse, sid: str) -> None:
    wh.execute("UPDATE web_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL", [now_utc(), _hash(sid)])


def end_sessions(wh: Warehouse, name: str) -> None:
    wh.execute("UPDATE web_sessions SET ended_at = ? WHERE annotator = ? AND ended_at IS NULL", [now_utc(), name])


def took_break(wh: Warehouse, s: Session) -> None:
    """Restart the break clock."""
    wh.execute("UPDATE web_sessions SET active_since = ? WHERE session_hash = ?", [now_utc(), s.session_hash])
