"""``miner serve``: the annotators' web app, a thin layer over the library.

Server-rendered pages (Starlette + Jinja2) with one small script for the keyboard. Every page
that writes carries a form key (see :mod:`miner.triage.worklist`), every write goes through the same
library functions as the CLI, and after a write the browser is redirected (post/redirect/get),
so reloading never resubmits. Every form also carries a token bound to the session, and every
request must name this server in its Host header (:mod:`miner.web.security`).

DuckDB allows one writing process per file, so the app holds one :class:`Warehouse` connection
for its lifetime and a lock serialises every use of it: requests from several annotators queue
for a few milliseconds each rather than race. Text is escaped by Jinja2; highlights are built
from escaped pieces; the Content-Security-Policy allows only our own script and stylesheet.
"""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents import checks, forms, incidents
from miner.triage import annotators, codebook, worklist
from miner.triage.annotators import AuthError, Session
from miner.triage.care import CATEGORIES, warning
from miner.triage.codebook import BUILTIN_PRODUCTS, Label
from miner.triage.evidence import Span, plan_products
from miner.web.security import FIELD, LOGIN_COOKIE, FormTokens, HostCheck, new_login_cookie

HERE = Path(__file__).resolve().parent
COOKIE = "miner_session"
KIND_TITLES = {"product": "product", "refusal": "refusal language", "narration": "narration",
               "context": "support context", "outcome": "outcome", "human_refuser": "a person refusing",
               "off_support": "outside support"}


class Busy(MinerError):
    """Another process (a nightly harvest) holds the warehouse."""


class Forbidden(MinerError):
    """A form whose token does not belong to the session that sent it: nothing is saved."""


class _AppWarehouse(Warehouse):
    LOCK_WAIT_SECONDS = 3.0  # an annotator should not stare at a spinner for 30 s: say it is busy


@dataclass
class AppState:
    """What the app keeps between requests. The warehouse connection is opened on demand and
    closed after ``idle_close`` seconds without requests, so a nightly harvest can write to the
    file while nobody is annotating (DuckDB allows one writing process at a time)."""

    path: Path
    tokens: FormTokens
    all_documents: bool = False
    idle_close: float = 30.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    flashes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # session -> (level, text)
    skips: dict[str, list[str]] = field(default_factory=dict)  # annotator -> items skipped this run
    left_cache: tuple[float, int] = (-1e9, 0)  # (when, undecided items): counting the queue view is the slow part
    last_used: float = 0.0
    _wh: Warehouse | None = None

    @property
    def wh(self) -> Warehouse:
        """The open warehouse (call with ``lock`` held)."""
        if self._wh is None:
            try:
                self._wh = _AppWarehouse.open(self.path)
            except MinerError as exc:
                if "lock" not in str(exc).lower():
                    raise
                raise Busy("The warehouse is busy (a nightly harvest or another command is writing to it). "
                           "Nothing was saved; try again in a minute.") from None
        self.last_used = time.monotonic()
        return self._wh

    def close_if_idle(self, force: bool = False) -> None:
        with self.lock:
            if self._wh is not None and (force or time.monotonic() - self.last_used > self.idle_close):
                self._wh.close()
                self._wh = None

    def left(self) -> int:
        """Undecided items, recounted at most every few seconds (shown on every item page)."""
        if time.monotonic() - self.left_cache[0] > 5:
            self.left_cache = (time.monotonic(), worklist.left(self.wh, all_documents=self.all_documents))
        return self.left_cache[1]


def highlight(text: str, spans: list[Span]) -> Markup:
    """``text`` as HTML with every evidence span wrapped in a <mark> (overlaps nest as classes)."""
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        on = [s for s in spans if s.start <= a and s.end >= b and s.end > s.start]
        piece = escape(text[a:b])
        if on:
            kinds = sorted({s.kind for s in on})
            tip = "; ".join(sorted({f"{KIND_TITLES.get(s.kind, s.kind)}: {s.label.replace('_', ' ')}" for s in on}))
            out.append(Markup('<mark class="{}" title="{}">{}</mark>').format(
                " ".join(f"ev-{k}" for k in kinds), tip, piece))
        else:
            out.append(piece)
    return Markup("").join(out)


def create_app(warehouse: str | Path, *, all_documents: bool = False, idle_close: float = 30.0,
               host: str = "127.0.0.1", port: int = 8787) -> Starlette:
    """The app over the warehouse at ``warehouse`` (held open while annotators are at work),
    served on ``host:port``: requests naming any other host are refused."""
    templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(HERE / "templates"),
                                                autoescape=select_autoescape(default=True)))
    templates.env.globals.update(codebook=codebook, CATEGORIES=CATEGORIES, quote=quote)
    state: dict[str, AppState] = {}

    @asynccontextmanager
    async def lifespan(app):
        tokens = FormTokens.from_secret(installation_secret(Path(warehouse)))
        st_ = state["s"] = AppState(Path(warehouse), tokens, all_documents, idle_close)
        with st_.lock:
            st_.wh  # noqa: B018  (open once now: a wrong path or a busy file shows at start-up)
        stop = threading.Event()

        def closer() -> None:
            while not stop.wait(min(1.0, idle_close / 2)):
                st_.close_if_idle()

        t = threading.Thread(target=closer, daemon=True, name="warehouse-closer")
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join(timeout=5)
            st_.close_if_idle(force=True)

    def st() -> AppState:
        return state["s"]

    # -- helpers ------------------------------------------------------------------------------
    def flash(s: Session, text: str, level: str = "info") -> None:
        st().flashes.setdefault(s.session_hash, []).append((level, text))

    def render(request: Request, name: str, ctx: dict, s: Session | None = None, status: int = 200) -> Response:
        ctx = dict(ctx)
        if s is not None:
            ctx["me"] = s.annotator
            ctx["flashes"] = st().flashes.pop(s.session_hash, [])
            mins = s.annotator.break_minutes
            ctx["break_at_ms"] = int((s.active_since.timestamp() + mins * 60) * 1000) if mins else 0
            ctx["now_ms"] = int(now_utc().timestamp() * 1000)
            ctx["last"] = worklist.last_action(st().wh, s.annotator.name)
            ctx["undo_key"] = worklist.form_key()
            ctx["csrf_field"] = token_field(st().tokens.for_session(s.session_hash))
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def token_field(token: str) -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token)

    def login_form(request: Request, ctx: dict, status: int = 200) -> Response:
        """The sign-in page, its form bound to a pre-sign-in cookie (set here when missing)."""
        cookie = request.cookies.get(LOGIN_COOKIE) or new_login_cookie()
        resp = render(request, "login.html", {"error": None, "next": "/next", **ctx,
                                              "csrf_field": token_field(st().tokens.for_login(cookie))}, status=status)
        resp.set_cookie(LOGIN_COOKIE, cookie, max_age=annotators.SESSION_HOURS * 3600, httponly=True,
                        samesite="strict", path="/")
        return resp

    def check_token(request: Request, form) -> None:
        """The second layer beside Origin and SameSite: a POST must carry the token of the session
        (or, for signing in, of the pre-sign-in cookie) it comes with. A signed-out session is an
        AuthError first, so the annotator is told to sign in rather than that the form is foreign."""
        if request.url.path == "/login":
            cookie = request.cookies.get(LOGIN_COOKIE)
            if not (cookie and st().tokens.matches(form.get(FIELD), st().tokens.for_login(cookie))):
                raise Forbidden("This sign-in form did not come from the sign-in page of this app (or cookies are "
                                "off). Sign in again from this page.")
            return
        s = request.state.session = annotators.session(st().wh, request.cookies.get(COOKIE))
        if not st().tokens.matches(form.get(FIELD), st().tokens.for_session(s.session_hash)):
            raise Forbidden("Refused: this form does not belong to your sign-in (it was sent from another site, "
                            "or drawn before you signed in again). Nothing was saved; reload the page and try again.")

    def go(url: str) -> Response:
        return RedirectResponse(url, status_code=303)

    def item_url(doc_id: str) -> str:
        return f"/item/{quote(doc_id, safe=':')}"

    def who(request: Request) -> Session:
        """The signed-in session (checked once per request: a POST's token check looked it up already)."""
        s = getattr(request.state, "session", None)
        return s if s is not None else annotators.session(st().wh, request.cookies.get(COOKIE))

    def page(fn):
        """Run a handler with the warehouse locked; turn sign-in and input problems into pages."""
        async def handler(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            if request.method == "POST" and not _same_origin(request):
                return Response("Refused: this form was sent from another site.", status_code=403)
            with st().lock:
                try:
                    if form is not None:
                        check_token(request, form)
                    return fn(request, form)
                except Forbidden as exc:
                    if request.url.path == "/login":
                        return login_form(request, {"error": str(exc), "next": form.get("next") or "/next"}, 403)
                    return render(request, "error.html", {"error": str(exc)}, _maybe_session(request), status=403)
                except AuthError as exc:
                    msg = str(exc)
                    if request.method == "POST" and request.url.path not in ("/login", "/logout"):
                        msg += " What you just sent was not saved; sign in and do it again."
                    back = request.url.path if request.method == "GET" else "/next"
                    resp = login_form(request, {"error": msg, "next": back}, status=401)
                    resp.delete_cookie(COOKIE)
                    return resp
                except MinerError as exc:
                    s = None if isinstance(exc, Busy) else _maybe_session(request)
                    status = 503 if isinstance(exc, Busy) else 404 if "no such" in str(exc) else 400
                    return render(request, "error.html", {"error": str(exc)}, s, status=status)
        return handler

    def _maybe_session(request: Request) -> Session | None:
        try:
            return who(request)
        except MinerError:
            return None

    # -- sign in ------------------------------------------------------------------------------
    def login_page(request, form):
        return login_form(request, {"next": request.query_params.get("next", "/next")})

    def login(request, form):
        a = annotators.authenticate(st().wh, form.get("token", ""))
        sid = annotators.start_session(st().wh, a)
        nxt = form.get("next") or "/next"
        resp = go(nxt if nxt.startswith("/") and not nxt.startswith("//") and nxt != "/login" else "/next")
        resp.set_cookie(COOKIE, sid, max_age=annotators.SESSION_HOURS * 3600, httponly=True, samesite="strict", path="/")
        return resp

    def logout(request, form):
        sid = request.cookies.get(COOKIE)
        if sid:
            annotators.end_session(st().wh, sid)
        resp = login_form(request, {"info": "Signed out. Thank you for your work today."})
        resp.delete_cookie(COOKIE)
        return resp

    def home(request, form):
        who(request)
        return go("/next")

    # -- the queue ------------------------------------------------------------------------------
    def next_item(request, form):
        s = who(request)
        me = s.annotator.name
        skip = request.query_params.get("skip")
        skips = st().skips.setdefault(me, [])
        if skip:
            worklist.release(st().wh, skip, me)
            if skip not in skips:
                skips.append(skip)
        doc = worklist.next_for(st().wh, s.annotator, skip=skips, all_documents=st().all_documents)
        if doc is None and skips and not skip:
            skips.clear()  # everything left was skipped once: offer the skipped ones again
            doc = worklist.next_for(st().wh, s.annotator, all_documents=st().all_documents)
        if doc is None:
            p = worklist.progress(st().wh, s.annotator, all_documents=st().all_documents)
            return render(request, "empty.html", {"p": p, "skipped": len(skips)}, s)
        return go(item_url(doc))

    def products(item) -> list[tuple[str, bool]]:
        found = sorted({sp.label for sp in item.spans if sp.kind == "product"})
        names = list(BUILTIN_PRODUCTS) + [n for n, _ in plan_products(st().wh) if n not in BUILTIN_PRODUCTS]
        return [(n, True) for n in found] + [(n, False) for n in names if n not in found]

    def show_item(request, form):
        s = who(request)
        me = s.annotator
        doc_id = request.path_params["doc_id"]
        item = worklist.load_item(st().wh, doc_id, me.name)
        if item.doc_id != doc_id:
            return go(item_url(item.doc_id))
        held = sorted(set(item.care) & set(me.opt_out))
        if held and request.query_params.get("show") != "1":
            return render(request, "held.html", {"item": item, "held": held}, s)
        prev_id, next_id = worklist.neighbours(st().wh, me.name, item.doc_id)
        blur = me.blur == "all" or (me.blur == "flagged" and bool(item.care))
        found = {}
        for sp in item.spans:
            found.setdefault(sp.kind, set()).add(sp.label)
        return render(request, "item.html", {
            "item": item, "html": highlight(item.text, item.spans), "found": found, "kind_titles": KIND_TITLES,
            "warning": warning(item.care) if item.care else None, "blur": blur, "products": products(item),
            "suggested": {"context": found.get("context", set()), "form": found.get("refusal", set())},
            "mine": item.mine or {}, "prev_id": prev_id, "next_id": next_id, "key": worklist.form_key(),
            "seen": worklist.item_version(item), "others_seen": len(item.others), "item_url": item_url,
            "remaining": st().left(),
        }, s)

    def label_item(request, form):
        s = who(request)
        me = s.annotator.name
        doc_id = request.path_params["doc_id"]
        first = form.get("first_hand") or ""
        decision = form.get("decision") or ""
        lab = Label(decision=decision, reason=(form.get("reason") or None) if decision == "not" else None,
                    product=form.get("product") or None, context=form.get("context") or None,
                    form=tuple(form.getlist("form")), refusal_type=form.get("refusal_type") or None,
                    phases=tuple(form.getlist("phases")), outcome=form.get("outcome") or None,
                    first_hand={"yes": True, "no": False}.get(first), note=(form.get("note") or "").strip() or None)
        out = worklist.submit_label(st().wh, me, doc_id, lab, key=form.get("key", ""), seen=form.get("seen", ""),
                                    others_seen=int(form.get("others_seen") or 0))
        flash(s, out.message, "ok" if out.status == "saved" else "warn")
        for n in out.notes:
            flash(s, n, "warn")
        if out.status == "stale":
            return go(item_url(out.doc_id))
        _, next_id = worklist.neighbours(st().wh, me, out.doc_id or doc_id)
        if not next_id:  # straight to the next queue item: one round trip fewer than via /next
            next_id = worklist.next_for(st().wh, s.annotator, skip=st().skips.get(me, []),
                                        all_documents=st().all_documents)
        return go(item_url(next_id) if next_id else "/next")

    def undo(request, form):
        s = who(request)
        batch = form.get("batch_id") or ""
        if not batch:
            flash(s, "Nothing to undo.", "warn")
            return go(form.get("back") or "/next")
        out = worklist.submit_undo(st().wh, s.annotator.name, batch, key=form.get("key", ""))
        flash(s, out.message, "ok" if out.status == "saved" else "warn")
        if out.cluster_id:
            return go(f"/clusters/{quote(out.cluster_id)}")
        return go(item_url(out.doc_id) if out.doc_id else "/next")

    # -- clusters ---------------------------------------------------------------------------------
    def clusters(request, form):
        s = who(request)
        return render(request, "clusters.html", {"clusters": worklist.cluster_list(st().wh)}, s)

    def cluster(request, form):
        s = who(request)
        c = worklist.cluster_detail(st().wh, request.path_params["cluster_id"], s.annotator.name)
        return render(request, "cluster.html", {"c": c, "key": worklist.form_key(), "blur_mode": s.annotator.blur,
                                                "opt_out": set(s.annotator.opt_out)}, s)

    def label_cluster(request, form):
        s = who(request)
        cid = request.path_params["cluster_id"]
        decision = form.get("decision") or ""
        lab = Label(decision=decision, reason=(form.get("reason") or None) if decision == "not" else None)
        lab.check()
        size_seen = int(form.get("size") or -1)
        if form.get("confirm") != "yes":
            c = worklist.cluster_detail(st().wh, cid, s.annotator.name)
            return render(request, "confirm.html", {"c": c, "lab": lab, "size": size_seen, "key": form.get("key")}, s)
        out = worklist.submit_cluster(st().wh, s.annotator.name, cid, lab, key=form.get("key", ""), size_seen=size_seen)
        flash(s, out.message, "ok" if out.status == "saved" else "warn")
        return go(f"/clusters/{quote(cid)}")

    # -- progress, settings, care -----------------------------------------------------------------
    def progress(request, form):
        s = who(request)
        return render(request, "progress.html",
                      {"p": worklist.progress(st().wh, s.annotator, all_documents=st().all_documents)}, s)

    def settings_page(request, form):
        s = who(request)
        return render(request, "settings.html", {"blur_modes": annotators.BLUR_MODES}, s)

    def save_settings(request, form):
        s = who(request)
        try:
            minutes = float(form.get("break_minutes") or 0)
        except ValueError:
            raise MinerError(f"break minutes: {form.get('break_minutes')!r} is not a number") from None
        annotators.update_settings(st().wh, s.annotator.name, blur=form.get("blur"), break_minutes=minutes,
                               opt_out=form.getlist("opt_out"))
        flash(s, "Settings saved.", "ok")
        return go("/settings")

    def take_break(request, form):
        s = who(request)
        annotators.took_break(st().wh, s)
        return render(request, "break.html", {}, None)

    def codebook_page(request, form):
        s = who(request)
        return render(request, "codebook.html", {}, s)

    # -- incidents: codes, draft, narrative and the privacy checks ---------------------------------
    def incident_list(request, form):
        s = who(request)
        rows = incidents.overview(st().wh)
        return render(request, "incidents.html", {"incidents": rows, "key": worklist.form_key()}, s)

    def incidents_from_annotations(request, form):
        s = who(request)
        out = forms.submit_incidents_from_annotations(st().wh, s.annotator.name, key=form.get("key", ""))
        flash(s, out.message, "ok" if out.status == "saved" else "warn")
        return go("/incidents")

    def incident_page(request, form, *, text: str | None = None, status: int = 200) -> Response:
        """The incident with its checks run on the stored narrative (recorded only when saving);
        ``text`` refills the textarea when a save was refused."""
        s = who(request)
        inc = incidents.get_incident(st().wh, request.path_params["incident_id"])
        if inc["status"] != "open":
            raise MinerError(f"{inc['incident_id']}: merged into {inc['merged_into']}; edit that one")
        result = checks.check(st().wh, inc["incident_id"], record=False)
        narrative = inc["narrative"] or ""
        spans = [Span(p.check, p.detail, i, i + len(p.span)) for p in result.problems if p.span
                 for i in _occurrences(narrative, p.span)]
        codes = {k: inc[k] for k in incidents.CODES if inc.get(k) not in (None, [])}
        return render(request, "incident.html", {
            "inc": inc, "codes": codes, "result": result, "narrative_html": highlight(narrative, spans),
            "text": narrative if text is None else text, "seen": forms.narrative_version(inc["narrative"]),
            "key": worklist.form_key(), "unreviewed": [f for f in result.flags if not f["reviewed"]],
        }, s, status=status)

    def incident_show(request, form):
        return incident_page(request, form)

    def incident_save(request, form):
        s = who(request)
        incident_id = request.path_params["incident_id"]
        text = form.get("narrative") or ""
        if form.get("action") == "review":
            out = forms.submit_review_flags(st().wh, s.annotator.name, incident_id, key=form.get("key", ""))
        else:
            out = forms.submit_narrative(st().wh, s.annotator.name, incident_id, text, key=form.get("key", ""),
                                         seen=form.get("seen", ""))
            if out.status == "stale":
                flash(s, out.message, "warn")
                return incident_page(request, form, text=text, status=409)
        level = "ok" if out.status == "saved" else "warn"
        if out.status == "saved":
            result = checks.check(st().wh, incident_id)  # recorded: the list and exports see the new state
            out.message += " Checks: " + ("passed." if result.passed else f"{len(result.problems)} problem(s).")
            level = "ok" if result.passed else "warn"
        flash(s, out.message, level)
        return go(f"/incidents/{quote(incident_id)}")

    routes = [
        Route("/", page(home)),
        Route("/login", page(login_page), methods=["GET"]),
        Route("/login", page(login), methods=["POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/next", page(next_item)),
        Route("/item/{doc_id:path}", page(show_item), methods=["GET"]),
        Route("/item/{doc_id:path}", page(label_item), methods=["POST"]),
        Route("/undo", page(undo), methods=["POST"]),
        Route("/clusters", page(clusters)),
        Route("/clusters/{cluster_id}", page(cluster), methods=["GET"]),
        Route("/clusters/{cluster_id}", page(label_cluster), methods=["POST"]),
        Route("/progress", page(progress)),
        Route("/settings", page(settings_page), methods=["GET"]),
        Route("/settings", page(save_settings), methods=["POST"]),
        Route("/break", page(take_break), methods=["POST"]),
        Route("/codebook", page(codebook_page)),
        Route("/incidents", page(incident_list), methods=["GET"]),
        Route("/incidents", page(incidents_from_annotations), methods=["POST"]),
        Route("/incidents/{incident_id}", page(incident_show), methods=["GET"]),
        Route("/incidents/{incident_id}", page(incident_save), methods=["POST"]),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(SecurityHeaders), Middleware(HostCheck, host=host, port=port)])


def _occurrences(text: str, part: str) -> list[int]:
    """Start offsets of every occurrence of ``part`` in ``text`` (checks name spans by their text)."""
    out, i = [], text.find(part)
    while part and i >= 0:
        out.append(i)
        i = text.find(part, i + len(part))
    return out


def _same_origin(request: Request) -> bool:
    """Forms are only accepted from our own pages (with SameSite cookies, a second line of defence)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


class SecurityHeaders:
    """No framing, no third-party scripts, nothing cached (a back button must not show stale forms)."""

    HEADERS = [(b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; "
                                            b"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
               (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
               (b"x-frame-options", b"DENY"), (b"cache-control", b"no-store")]

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BackgroundServer:
    """The app served from a thread on a free local port (tests, screenshots):
    ``with BackgroundServer(path) as url: ...``."""

    def __init__(self, warehouse: str | Path, *, all_documents: bool = False, host: str = "127.0.0.1",
                 idle_close: float = 30.0) -> None:
        import socket

        import uvicorn

        with socket.socket() as sock:
            sock.bind((host, 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        app = create_app(warehouse, all_documents=all_documents, idle_close=idle_close, host=host, port=self.port)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
