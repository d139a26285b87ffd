"""The FastAPI application: middleware, error pages and the routes, over one case store."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import Session

from darkfigure.errors import AccessDenied, DarkfigureError, InputError
from darkfigure.web.config import WebConfig
from darkfigure.web.i18n import translator
from darkfigure.web.pages import LoginRequired, language, redirect, render, store_gate
from darkfigure.web.security import (
    SecurityHeadersMiddleware,
    SessionCookieMiddleware,
    apply_security_headers,
    csrf_guard,
)

log = logging.getLogger("darkfigure.web")
STATIC = Path(__file__).parent / "static"
# Starlette's limits on a form (its defaults: a form's size is bounded by them, not by one total)
FORM_PART_LIMIT, FORM_FIELD_LIMIT = 1024 * 1024, 1000


def create_app(store, config: WebConfig, results: Path | None = None) -> FastAPI:
    """The web application over ``store`` (a :class:`darkfigure.casestore.CaseStore`).

    ``results``: a folder of pipeline runs (each a folder with ``estimates.json``) whose latest
    estimates the dashboard shows.

    >>> from darkfigure.web import WebConfig
    >>> app = create_app(None, WebConfig(session_secret="s" * 32))
    >>> app.title
    'darkfigure'
    """
    from darkfigure.web.routes import accounts, admin, cases, erasure

    app = FastAPI(
        title="darkfigure", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(csrf_guard)]
    )
    app.state.store, app.state.config, app.state.results = store, config, results
    app.state.gate, app.state.users_seen = store_gate(store), {}
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (accounts, cases, admin, erasure):
        app.include_router(module.router)
    app.add_api_route("/favicon.ico", _no_icon, methods=["GET"], include_in_schema=False)
    app.add_middleware(
        SessionCookieMiddleware, secret=config.session_secret, max_age=config.session_max_age,
        same_site=config.same_site, secure=config.secure_cookies,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    _add_error_pages(app)
    return app


def _add_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(AccessDenied, _not_found)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(DarkfigureError, _input_error)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(Exception, _server_error)


def error_page(
    request: Request, status: int, key: str | None = None, message: str | None = None, field: str | None = None,
    back: tuple[str, str] | None = None, **fields: object,
) -> HTMLResponse:
    """An error page in the request's language: status, title, message (text ``key`` or as given), field at
    fault, and a way back (``(path, text key)``; the start page when None)."""
    t = translator(language(request))
    message = message if message is not None else t(key or f"error.{status}", **fields)
    return render(
        request, "error.j2", status_code=status, status=status, title=t(f"status.{status}"), message=message,
        field=field, back=back[0] if back else None, back_label=back[1] if back else None,
    )


async def _no_icon() -> Response:
    """No icon, and no 404 in the log for every page a browser opens."""
    return Response(status_code=204, headers={"cache-control": "max-age=86400"})


async def _to_login(request: Request, exc: Exception) -> RedirectResponse:
    # the page only, never its query: a searched name must not travel on in next= (and so into logs)
    target = request.url.path
    return redirect(f"/login?next={target}" if target != "/" and request.method == "GET" else "/login")


async def _http_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, StarletteHTTPException)
    too_large = form_limit(exc)
    if too_large is not None:
        return error_page(request, 413, "error.form_too_large", limit=too_large[0], fields=too_large[1])
    key = exc.detail if isinstance(exc.detail, str) and exc.detail.startswith("error.") else f"error.{exc.status_code}"
    response = error_page(request, exc.status_code, key)
    for name, value in (exc.headers or {}).items():  # e.g. the login lockout's Retry-After
        response.headers[name] = value
    return response


def form_limit(exc: StarletteHTTPException) -> tuple[int, int] | None:
    """The form limits (KB per field, number of fields) when ``exc`` is Starlette refusing a form over
    one of them (it says so only in a 400's text), else None.

    >>> form_limit(StarletteHTTPException(400, "Field exceeded maximum size of 1024KB."))
    (1024, 1000)
    >>> form_limit(StarletteHTTPException(400, "Invalid multipart data.")) is None
    True
    """
    detail = exc.detail if exc.status_code == 400 and isinstance(exc.detail, str) else ""
    if not re.search(r"exceeded maximum size|Too many (fields|files)", detail):
        return None
    return FORM_PART_LIMIT // 1024, FORM_FIELD_LIMIT


def loggable(text: str, limit: int = 300) -> str:
    r"""``text`` (a path from a request) as a log may hold it: characters that are not printable (ESC,
    NUL, line breaks, direction marks) escaped as Python writes them, at most ``limit`` characters.

    >>> print(loggable("/cases/x" + chr(27) + "[31mRED" + chr(0)))
    /cases/x\x1b[31mRED\x00
    """
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return safe if len(safe) <= limit else safe[:limit] + "..."


async def _bad_request(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    field = str(first.get("loc", ("", "?"))[-1])
    return error_page(request, 422, "error.invalid_field", field=field, field_name=field)


async def _not_found(request: Request, exc: Exception) -> HTMLResponse:
    # another organisation's case (or a role's forbidden one) looks exactly like a missing one
    log.info("access denied: %s %s", request.method, loggable(request.url.path))
    return error_page(request, 404, "error.404")


async def _input_error(request: Request, exc: Exception) -> HTMLResponse:
    field = getattr(exc, "column", None)
    return error_page(request, 422, message=str(getattr(exc, "message", exc)), field=field)


async def _busy(request: Request, exc: Exception) -> HTMLResponse:
    # the database is locked or unreachable: a page that says try again, not a traceback
    log.warning("database busy on %s %s: %s", request.method, loggable(request.url.path),
                loggable(str(exc).splitlines()[0][:200]))
    response = error_page(request, 503, "error.503")
    response.headers["retry-after"] = "2"
    return response


async def _server_error(request: Request, exc: Exception) -> HTMLResponse:
    log.exception("unexpected error on %s %s", request.method, loggable(request.url.path), exc_info=exc)
    request.scope.setdefault("session", Session())
    try:
        response = error_page(request, 500, "error.500")
    except Exception:  # the error page itself failed: plain text, still no traceback
        response = HTMLResponse("Internal error", status_code=500)
    apply_security_headers(MutableHeaders(raw=response.raw_headers))  # outside the header middleware
    return response
