"""Session cookies, CSRF tokens and security headers.

The session is a signed cookie (itsdangerous, as Starlette's SessionMiddleware) that is HttpOnly,
SameSite=Lax (or Strict) and Secure whenever the request came over https. Every form carries the
session's CSRF token and every unsafe request is refused (403) unless it sends it back.
"""

from __future__ import annotations

import hmac
import json
import secrets
from base64 import b64decode, b64encode

import itsdangerous
from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "darkfigure_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (one per session, rotated at login)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


async def csrf_guard(request: Request) -> None:
    """Refuse (403) an unsafe request whose form field or X-CSRF-Token header does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise HTTPException(status_code=403, detail="error.csrf")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


class SecurityHeadersMiddleware:
    """Add CSP, X-Frame-Options and friends to every response; ``no-store`` to every page but static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply_security_headers(MutableHeaders(scope=message), static)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def apply_security_headers(headers: MutableHeaders, static: bool = False) -> None:
    """Set the security headers on one response (also used for the 500 page, outside the middleware)."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    headers["cache-control"] = "public, max-age=3600" if static else "no-store"
    if not static:
        headers["pragma"] = "no-cache"


class SessionCookieMiddleware:
    """A signed-cookie session like Starlette's, but ``Secure`` decided per request (https or not)."""

    def __init__(
        self, app: ASGIApp, secret: str, max_age: int, same_site: str = "lax", secure: bool | None = None
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret, salt="darkfigure.session")
        self.max_age, self.same_site, self.secure = max_age, same_site, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        had_cookie = self._load(scope)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._store(scope, MutableHeaders(scope=message), had_cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, scope: Scope) -> bool:
        raw = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
        scope["session"] = Session()
        if not raw:
            return False
        try:
            data = self.signer.unsign(raw.encode(), max_age=self.max_age)
            scope["session"] = Session(json.loads(b64decode(data)))
        except (itsdangerous.BadSignature, ValueError):
            return False
        return True

    def _store(self, scope: Scope, headers: MutableHeaders, had_cookie: bool) -> None:
        session: Session = scope["session"]
        if not session.modified:
            return
        flags = f"path=/; httponly; samesite={self.same_site}"
        secure = self.secure if self.secure is not None else scope.get("scheme") == "https"
        if secure:
            flags += "; secure"
        if session:
            value = self.signer.sign(b64encode(json.dumps(session).encode())).decode()
            headers.append("set-cookie", f"{SESSION_COOKIE}={value}; Max-Age={self.max_age}; {flags}")
        elif had_cookie:
            headers.append("set-cookie", f"{SESSION_COOKIE}=; Max-Age=0; {flags}")
