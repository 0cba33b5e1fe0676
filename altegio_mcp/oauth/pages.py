"""The sign-in and consent pages: plain server-rendered HTML forms, no scripts, no build step.

`/authorize` (the SDK) sends the browser to `GET /oauth/signin?request=<id>`. The user enters their
Altegio login and password; the server calls `POST /auth` with its partner token, keeps the user
token encrypted on the pending request and lists the locations the account manages. The consent
page names the client and what it will be able to do, and asks which locations the grant covers.
"Allow" creates the grant and redirects to the client with a code; "Deny" redirects with
`access_denied`.

Protections: a browser cookie (random, HttpOnly, SameSite=Lax) ties the pages of one request to
the browser that started it; every form carries a CSRF token (HMAC of the cookie, the request id
and the form); failed sign-ins are throttled per account and per address through the shared
store's token buckets, and a throttled sign-in never reaches Altegio; the pages forbid framing,
scripts and caching. The password lives only in the form post and the `POST /auth` body.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from altegio_mcp.client import AltegioAuth, AltegioClient
from altegio_mcp.credentials import sign_in
from altegio_mcp.errors import AltegioError, AuthenticationFailed, BadRequest, ValidationFailed
from altegio_mcp.oauth.keys import OAuthKeys
from altegio_mcp.oauth.provider import SIGNIN_PATH, AltegioOAuthProvider, redirect_with
from altegio_mcp.oauth.records import AltegioUser, LocationChoice, PendingSignIn
from altegio_mcp.operations.locations import LOCATIONS
from altegio_mcp.settings import Settings
from altegio_mcp.state import StateUnavailable

log = logging.getLogger(__name__)

CONSENT_PATH = "/oauth/consent"
COOKIE = "altegio_mcp_oauth"
MAX_FIELD = 200


@dataclass(frozen=True, slots=True)
class Throttle:
    """A token bucket of failed sign-ins: `capacity` failures, refilled at `per_seconds` each."""

    name: str
    capacity: float
    per_seconds: float


ACCOUNT_THROTTLE = Throttle("account", capacity=5, per_seconds=180)
ADDRESS_THROTTLE = Throttle("address", capacity=20, per_seconds=60)

CAPABILITIES = (
    ("Read", "appointments, clients, team members, schedules, services and reviews."),
    ("Write", "book, move and change appointments; add and edit clients and schedules."),
    (
        "Destructive changes, each only after you confirm it in the chat",
        "delete appointments, cancel recurring series, record payments and no-shows.",
    ),
)

STYLE = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f6f7f9;--card:#fff;--muted:#57606a;--line:#d0d7de;
--accent:#0b57d0;--accent-fg:#fff;--err-bg:#fdecea;--err:#8a1c13}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--card:#161b22;--muted:#9da7b3;
--line:#30363d;--accent:#4493f8;--accent-fg:#0d1117;--err-bg:#3d1512;--err:#ffb4a9}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:28rem;margin:3rem auto;padding:2rem;background:var(--card);border:1px solid var(--line);
border-radius:12px}
h1{font-size:1.4rem;margin:0 0 .5rem}
p,ul{margin:.5rem 0 1rem}
.muted{color:var(--muted);font-size:.95rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;font:inherit;color:inherit;
background:transparent;border:1px solid var(--muted);border-radius:8px}
fieldset{border:1px solid var(--line);border-radius:8px;margin:1rem 0;padding:.5rem 1rem 1rem}
legend{font-weight:600;padding:0 .25rem}
fieldset label{display:flex;gap:.6rem;align-items:flex-start;font-weight:400;margin:.6rem 0 0}
fieldset input{flex:none;margin-top:.3rem;width:1.1rem;height:1.1rem}
.actions{display:flex;gap:.75rem;margin-top:1.5rem;flex-wrap:wrap}
button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border-radius:8px;border:1px solid var(--accent);
cursor:pointer;background:transparent;color:var(--accent)}
button.primary{background:var(--accent);color:var(--accent-fg)}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{background:var(--err-bg);color:var(--err);border-radius:8px;padding:.6rem .8rem;margin:1rem 0}
.caps li{margin:.3rem 0}
a{color:var(--accent)}
.nowrap{white-space:nowrap}
@media (max-width:32rem){body{background:var(--card)}main{margin:0;border:0;border-radius:0;padding:1.5rem 1.25rem}}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, status: int = 200, form_targets: Sequence[str] = ()) -> HTMLResponse:
    """A complete page: one inline stylesheet (allowed by a nonce), no scripts, no framing."""
    nonce = secrets.token_urlsafe(16)
    document = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>{_e(title)} · Altegio</title><style nonce="{nonce}">{STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )
    form_action = " ".join(["'self'", *form_targets])
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(document, status_code=status, headers=headers)


def message_page(title: str, text: str, *, status: int) -> HTMLResponse:
    return page(title, f"<h1>{_e(title)}</h1><p>{_e(text)}</p>", status=status)


def _error_box(error: str | None) -> str:
    return f'<div class="error" id="form-error" role="alert">{_e(error)}</div>' if error else ""


def signin_body(pending: PendingSignIn, csrf: str, *, login: str = "", error: str | None = None) -> str:
    described = ' aria-describedby="form-error"' if error else ""
    return f"""
<h1>Sign in to Altegio</h1>
<p><strong>{_e(pending.client_name)}</strong> asks to connect to your Altegio account.
Sign in with the login and password you use for Altegio.</p>
{_error_box(error)}
<form method="post" action="{SIGNIN_PATH}">
<input type="hidden" name="request" value="{_e(pending.id)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<label for="login">Phone or email</label>
<input type="text" id="login" name="login" value="{_e(login)}" autocomplete="username" required
 maxlength="{MAX_FIELD}" autocapitalize="none" spellcheck="false"{described}{"" if login else " autofocus"}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required
 maxlength="{MAX_FIELD}"{described}{" autofocus" if login else ""}>
<div class="actions"><button type="submit" class="primary">Sign in</button></div>
</form>
<p class="muted">Your password goes to Altegio once and is not stored. Next you choose what
{_e(pending.client_name)} may do and at which locations.</p>
"""


def consent_body(pending: PendingSignIn, csrf: str, *, error: str | None = None) -> str:
    user = pending.user
    who = _e(user.label()) if user else "you"
    destination = urlsplit(pending.redirect_uri)
    where = destination.netloc or destination.scheme + ":"
    caps = "".join(f"<li><strong>{_e(head)}:</strong> {_e(text)}</li>" for head, text in CAPABILITIES)
    single = len(pending.locations) == 1
    boxes = "".join(
        f'<label><input type="checkbox" name="location" value="{loc.id}"'
        f"{' checked' if single else ''}><span>{_e(loc.title)}"
        f'{" · " + _e(loc.city) if loc.city else ""} <span class="muted nowrap">(id {loc.id})</span></span></label>'
        for loc in pending.locations
    )
    return f"""
<h1>Allow {_e(pending.client_name)}?</h1>
<p>Signed in as <strong>{who}</strong>.
<a href="{SIGNIN_PATH}?{_e(urlencode({"request": pending.id}))}">Not you?</a></p>
<p><strong>{_e(pending.client_name)}</strong> will act as you in Altegio and will be able to:</p>
<ul class="caps">{caps}</ul>
{_error_box(error)}
<form method="post" action="{CONSENT_PATH}">
<input type="hidden" name="request" value="{_e(pending.id)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<fieldset{' aria-describedby="form-error"' if error else ""}>
<legend>Locations it may use</legend>
{boxes}
</fieldset>
<p class="muted">Afterwards you return to <strong>{_e(where)}</strong>. Removing the connector in the
chat app ends this access.</p>
<div class="actions">
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
"""


def _redirect_origin(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"}:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


class SignInPages:
    """The routes of the sign-in flow, bound to one provider, store and upstream."""

    def __init__(
        self,
        provider: AltegioOAuthProvider,
        keys: OAuthKeys,
        settings: Settings,
        open_client: Callable[[], AltegioClient],
    ) -> None:
        self.provider = provider
        self.store = provider.store
        self.keys = keys
        self.settings = settings
        self.open_client = open_client
        self.secure_cookie = provider.base_url.startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route(SIGNIN_PATH, self.signin, methods=["GET", "POST"]),
            Route(CONSENT_PATH, self.consent, methods=["GET", "POST"]),
        ]

    # --- browser binding and CSRF --------------------------------------------------------------

    def _browser(self, request: Request) -> str | None:
        value = request.cookies.get(COOKIE)
        return value if value and 20 <= len(value) <= 100 else None

    def _csrf(self, browser: str, pending_id: str, form: str) -> str:
        return self.keys.csrf(browser, pending_id, form)

    def _with_cookie(self, response: Response, browser: str) -> Response:
        response.set_cookie(
            COOKIE,
            browser,
            max_age=3600,
            path="/oauth",
            httponly=True,
            secure=self.secure_cookie,
            samesite="lax",
        )
        return response

    async def _form(self, request: Request) -> Mapping[str, str]:
        form = await request.form(max_files=0, max_fields=50)
        out: dict[str, str] = {}
        for key, value in form.multi_items():
            if isinstance(value, str) and key not in out:
                out[key] = value[: MAX_FIELD * 2]
        return out

    @staticmethod
    def _expired() -> HTMLResponse:
        return message_page(
            "This sign-in link has expired",
            "Start again from the chat app: add or reconnect the connector.",
            status=400,
        )

    @staticmethod
    def _forbidden() -> HTMLResponse:
        return message_page(
            "The form could not be verified",
            "The page was not sent by this browser session (the security token is missing or wrong). "
            "Start again from the chat app.",
            status=403,
        )

    async def _guarded(self, handler: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await handler()
        except StateUnavailable:
            log.error("sign-in page: the state store is unavailable")
            return message_page(
                "Sign-in is unavailable", "The server cannot reach its store. Try again shortly.", status=503
            )

    # --- sign-in -------------------------------------------------------------------------------

    async def signin(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._guarded(lambda: self._signin_form(request))
        return await self._guarded(lambda: self._signin_post(request))

    async def _signin_form(self, request: Request) -> Response:
        pending = await self.provider.load_pending(request.query_params.get("request", ""))
        if pending is None:
            return self._expired()
        browser = self._browser(request) or secrets.token_urlsafe(24)
        csrf = self._csrf(browser, pending.id, "signin")
        return self._with_cookie(page("Sign in", signin_body(pending, csrf)), browser)

    async def _signin_post(self, request: Request) -> Response:
        form = await self._form(request)
        pending = await self.provider.load_pending(form.get("request", ""))
        if pending is None:
            return self._expired()
        browser = self._browser(request)
        if browser is None or not self.keys.csrf_ok(form.get("csrf", ""), browser, pending.id, "signin"):
            return self._forbidden()
        csrf = self._csrf(browser, pending.id, "signin")
        login = form.get("login", "").strip()
        password = SecretStr(form.get("password", ""))
        if not login or not password.get_secret_value():
            body = signin_body(pending, csrf, login=login, error="Enter your login and your password.")
            return page("Sign in", body, status=400)
        address = request.client.host if request.client else "unknown"
        throttles = [
            (ACCOUNT_THROTTLE, self.keys.hash("login:" + login.casefold())),
            (ADDRESS_THROTTLE, self.keys.hash("address:" + address)),
        ]
        wait = await self._locked(throttles)
        if wait > 0:
            return self._throttled(pending, csrf, login, wait)
        try:
            async with self.open_client() as client:
                token, identity = await sign_in(client, login, password)
                locations = await self._locations(client, token)
        except (AuthenticationFailed, ValidationFailed, BadRequest):
            wait = await self._failed(throttles)
            log.warning("sign-in failed for a login at %s", address)
            if wait > 0:
                return self._throttled(pending, csrf, login, wait)
            body = signin_body(pending, csrf, login=login, error="Wrong login or password.")
            return page("Sign in", body, status=401)
        except AltegioError as exc:
            log.warning("sign-in: Altegio did not answer as expected: %s", type(exc).__name__)
            body = signin_body(
                pending, csrf, login=login, error="Altegio could not be reached. Try again in a minute."
            )
            return page("Sign in", body, status=502)
        if not locations:
            body = signin_body(
                pending,
                csrf,
                login=login,
                error="This Altegio account manages no locations, so there is nothing to connect.",
            )
            return page("Sign in", body, status=403)
        pending.user = AltegioUser(id=identity.id, login=identity.login or login, name=identity.name)
        pending.user_token = self.keys.encrypt(token.get_secret_value(), pending.id)
        pending.locations = locations
        pending.browser = self.keys.hash("browser:" + browser)
        await self.provider.save_pending(pending)
        target = f"{CONSENT_PATH}?{urlencode({'request': pending.id})}"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    async def _locations(self, client: AltegioClient, token: SecretStr) -> list[LocationChoice]:
        res = await client.request(
            "GET",
            "/companies",
            LOCATIONS,
            params={"my": 1},
            auth=AltegioAuth(self.settings.partner_token, token),
        )
        return [LocationChoice(id=w.id, title=w.title or f"Location {w.id}", city=w.city) for w in res.data]

    async def _locked(self, throttles: list[tuple[Throttle, str]]) -> float:
        now = self.provider.clock()
        longest = 0.0
        for throttle, who in throttles:
            raw = await self.store.get(f"oauth:lock:{throttle.name}:{who}")
            if raw is not None:
                try:
                    longest = max(longest, float(raw.decode()) - now)
                except ValueError:
                    continue
        return longest

    async def _failed(self, throttles: list[tuple[Throttle, str]]) -> float:
        """Count a failure in each bucket; lock whatever ran dry. Returns the longest lock."""
        longest = 0.0
        for throttle, who in throttles:
            wait = await self.store.acquire(
                f"oauth:rl:{throttle.name}:{who}",
                rate=1 / throttle.per_seconds,
                capacity=throttle.capacity,
            )
            if wait > 0:
                until = self.provider.clock() + wait
                await self.store.put(f"oauth:lock:{throttle.name}:{who}", str(until).encode(), ttl=wait)
                longest = max(longest, wait)
        return longest

    def _throttled(self, pending: PendingSignIn, csrf: str, login: str, wait: float) -> Response:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes != 1 else ''} and try again."
        response = page("Sign in", signin_body(pending, csrf, login=login, error=error), status=429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response

    # --- consent -------------------------------------------------------------------------------

    async def consent(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._guarded(lambda: self._consent_form(request))
        return await self._guarded(lambda: self._consent_post(request))

    def _owned(self, pending: PendingSignIn, browser: str | None) -> bool:
        return (
            browser is not None
            and pending.user is not None
            and pending.browser is not None
            and secrets.compare_digest(pending.browser, self.keys.hash("browser:" + browser))
        )

    async def _consent_form(self, request: Request) -> Response:
        pending = await self.provider.load_pending(request.query_params.get("request", ""))
        if pending is None:
            return self._expired()
        browser = self._browser(request)
        if browser is None or not self._owned(pending, browser):
            return self._forbidden()
        csrf = self._csrf(browser, pending.id, "consent")
        return page(
            "Allow access",
            consent_body(pending, csrf),
            form_targets=[_redirect_origin(pending.redirect_uri)],
        )

    async def _consent_post(self, request: Request) -> Response:
        form_data = await request.form(max_files=0, max_fields=250)
        form = {k: v for k, v in form_data.items() if isinstance(v, str)}
        chosen_raw = [v for k, v in form_data.multi_items() if k == "location" and isinstance(v, str)]
        pending = await self.provider.load_pending(form.get("request", ""))
        if pending is None:
            return self._expired()
        browser = self._browser(request)
        if (
            browser is None
            or not self._owned(pending, browser)
            or not self.keys.csrf_ok(form.get("csrf", ""), browser, pending.id, "consent")
        ):
            return self._forbidden()
        decision = form.get("decision")
        if decision not in {"allow", "deny"}:
            return self._forbidden()
        taken = None
        if decision == "deny":
            taken = await self.provider.take_pending(pending.id)
            if taken is None:
                return self._expired()
            target = redirect_with(
                taken.redirect_uri,
                error="access_denied",
                error_description="The user denied access.",
                state=taken.state,
            )
            return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        offered = {loc.id: loc for loc in pending.locations}
        chosen: list[LocationChoice] = []
        for raw in chosen_raw:
            if raw.isdigit() and int(raw) in offered and offered[int(raw)] not in chosen:
                chosen.append(offered[int(raw)])
        if not chosen or len(chosen) != len(set(chosen_raw)):
            csrf = self._csrf(browser, pending.id, "consent")
            body = consent_body(pending, csrf, error="Choose at least one of your locations.")
            return page(
                "Allow access", body, status=400, form_targets=[_redirect_origin(pending.redirect_uri)]
            )
        taken = await self.provider.take_pending(pending.id)
        if taken is None:
            return self._expired()
        target = await self.provider.complete(taken, chosen)
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def open_client_for(
    settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> Callable[[], AltegioClient]:
    """A fresh client per sign-in (they are rare), over the server's own transport."""
    return lambda: AltegioClient(settings, transport=transport)
