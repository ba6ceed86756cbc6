"""What stops another site from using a signed-in annotator's browser against the app.

Three layers, each enough on its own against an ordinary cross-site form, together so that one
browser quirk or one missing header does not open the door:

* SameSite=Strict cookies and the Origin check (in :mod:`miner.web.app`);
* a form token bound to the session (:class:`FormTokens`): an HMAC of the session's stored hash
  under a key derived from the installation secret, so another site cannot know it, another
  annotator's token does not fit, and nothing new has to be stored. The sign-in form, which has
  no session yet, is bound the same way to a random pre-sign-in cookie;
* the Host check (:class:`HostCheck`): a page on ``evil.example`` whose name an attacker points
  at 127.0.0.1 (DNS rebinding) is same-origin for the browser, but its requests say
  ``Host: evil.example`` and are refused before any handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

FIELD = "csrf"  # the hidden form field that carries the token
LOGIN_COOKIE = "miner_login"  # the pre-sign-in cookie the sign-in form's token is bound to
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class FormTokens:
    """Form tokens under one key. The key is derived from the installation secret (never the
    secret itself), so pages drawn before a restart of ``miner serve`` still submit."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> FormTokens:
        return cls(hmac.new(secret, b"miner web form tokens v1", hashlib.sha256).digest())

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def for_session(self, session_hash: str) -> str:
        """The token every form of a signed-in page carries (``session_hash`` is what
        ``web_sessions`` stores: the cookie itself never enters the token)."""
        return self._mac("session", session_hash)

    def for_login(self, login_cookie: str) -> str:
        return self._mac("login", login_cookie)

    @staticmethod
    def matches(sent: str | None, expected: str) -> bool:
        return bool(sent) and hmac.compare_digest(str(sent), expected)


def new_login_cookie() -> str:
    return secrets.token_urlsafe(24)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """Host header values that name the server bound to ``host:port``: the address itself, and every
    loopback spelling when it is a loopback (or wildcard) address. Port 80 may go unsaid."""
    names = {host.lower()}
    if host in LOOPBACK or host in WILDCARD:
        names |= set(LOOPBACK)
    if host in WILDCARD:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    names -= set(WILDCARD)
    out = {_netloc(n, port) for n in names}
    if port == 80:
        out |= {f"[{n}]" if ":" in n else n for n in names}
    return frozenset(out)


class HostCheck:
    """Refuse (400, one line) a request whose Host header does not name this server. Bound to a
    wildcard address, the address the connection arrived on counts too (uvicorn's ``server``)."""

    def __init__(self, app, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self.allowed = allowed_hosts(host, port)

    def allows(self, got: str, server: tuple | None) -> bool:
        got = got.strip().lower()
        if got in self.allowed:
            return True
        return self.host in WILDCARD and bool(server) and got in allowed_hosts(str(server[0]), self.port)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        got = Headers(scope=scope).get("host", "")
        if self.allows(got, scope.get("server")):
            return await self.app(scope, receive, send)
        where = _netloc("127.0.0.1" if self.host in WILDCARD else self.host, self.port)
        text = (f"Refused: Host {got!r} is not this server; open http://{where}/ (a page under another "
                "name could be a DNS-rebinding attack).\n")
        await PlainTextResponse(text, status_code=400)(scope, receive, send)
