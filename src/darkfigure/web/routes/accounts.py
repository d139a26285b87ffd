"""First administrator, login, logout and the organisation's users."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from darkfigure.casestore.accounts import MAX_PASSWORD
from darkfigure.casestore.types import ROLES, Actor
from darkfigure.errors import AccessDenied, InputError
from darkfigure.web.i18n import translator
from darkfigure.web.pages import current_actor, flash, language, redirect, render, store_call, store_of, user_with
from darkfigure.web.security import CSRF_FIELD

router = APIRouter()
log = logging.getLogger("darkfigure.web")
MIN_PASSWORD = 12
_FAILURES: dict[str, deque[float]] = defaultdict(deque)  # recent failed logins per user name
_MAX_FAILURES, _FAILURE_WINDOW = 10, 15 * 60


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    if current_actor(request):
        return redirect("/dashboard")
    return redirect("/login" if await store_call(request, "has_users") else "/setup")


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request) -> HTMLResponse:
    await _first_user_only(request)
    return render(request, "setup.j2")


@router.post("/setup")
async def setup(
    request: Request,
    organisation: Annotated[str, Form()],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> RedirectResponse:
    """Create the organisation and its first administrator; refused once any user exists."""
    await _first_user_only(request)
    check_password(password)
    try:  # one transaction, refused once any user exists: of two racing first visitors one wins
        org, actor = await store_call(
            request, "create_first_administrator", organisation.strip(), username.strip(), password
        )
    except AccessDenied:
        raise HTTPException(status_code=403, detail="error.setup_done") from None
    log.info("first administrator %s created", actor.username)
    _log_in(request, actor, org.name)
    return redirect("/dashboard")


async def _first_user_only(request: Request) -> None:
    if await store_call(request, "has_users"):
        raise HTTPException(status_code=403, detail="error.setup_done")


def check_password(password: str, field: str = "password") -> None:
    """Refuse passwords shorter than :data:`MIN_PASSWORD` characters or longer than the store takes."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters", column=field)
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password may have at most {MAX_PASSWORD} characters; got {len(password)}",
                         column=field)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    if not await store_call(request, "has_users"):
        return redirect("/setup")
    return render(request, "login.j2", failed=False, username="", next=_local(request.query_params.get("next")))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/dashboard",
) -> Response:
    """Check the password (argon2id, in the store); on success a fresh session and CSRF token."""
    if _throttled(username):
        raise _locked_out(username)
    # not through the gate: argon2 takes its time, and other requests need not wait for it
    authenticate = store_of(request).authenticate
    actor = await run_in_threadpool(authenticate, username, password) if username and password else None
    if actor is None:
        if len(_FAILURES) > 10_000:  # bounded memory whatever names are tried
            _FAILURES.clear()
        _FAILURES[username[:100]].append(time.monotonic())
        log.warning("failed login for %r", username[:64])
        return render(request, "login.j2", status_code=401, failed=True, username=username, next=_local(next))
    _FAILURES.pop(username, None)
    _log_in(request, actor, (await store_call(request, "organisation", actor.organisation_id)).name)
    return redirect(_local(next))


def _throttled(username: str) -> bool:
    recent = _FAILURES.get(username[:100])
    if not recent:
        return False
    while recent and time.monotonic() - recent[0] > _FAILURE_WINDOW:
        recent.popleft()
    return len(recent) >= _MAX_FAILURES


def _locked_out(username: str) -> HTTPException:
    """The 429 of a throttled user name, with ``Retry-After``: the seconds until the oldest failure that
    keeps the name locked leaves the window."""
    recent = _FAILURES.get(username[:100]) or deque([time.monotonic()])
    unlock = recent[-_MAX_FAILURES] if len(recent) >= _MAX_FAILURES else recent[0]
    seconds = max(1, math.ceil(unlock + _FAILURE_WINDOW - time.monotonic()))
    return HTTPException(status_code=429, detail="error.429", headers={"retry-after": str(seconds)})


def _local(target: str | None) -> str:
    """Only paths on this site, without their query, may follow a login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target.split("?", 1)[0].split("#", 1)[0]  # never a query: it could hold a searched name


def _log_in(request: Request, actor: Actor, organisation: str) -> None:
    lang = request.session.get("lang")
    request.session.clear()  # a new session at login: the CSRF token changes too
    request.session["user"] = {
        "id": actor.id, "username": actor.username, "organisation_id": actor.organisation_id,
        "role": actor.role, "organisation": organisation, "epoch": actor.session_epoch,
    }
    if lang:
        request.session["lang"] = lang


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return redirect("/login")


@router.get("/users", response_class=HTMLResponse)
async def users(request: Request, actor: Annotated[Actor, Depends(user_with("admin"))]) -> HTMLResponse:
    return await _users_page(request, actor)


async def _users_page(
    request: Request, actor: Actor, error: InputError | None = None, typed: dict | None = None
) -> HTMLResponse:
    """The users page: the active users, those switched off (their names stay taken), the form to add
    one; after a refused addition (422) the message, and the name and role typed (never the password)."""
    active = await store_call(request, "users", actor)
    switched_off = await store_call(request, "users", actor, active=False)
    return render(
        request, "users.j2", status_code=422 if error else 200, section="users", users=active,
        switched_off=switched_off, roles=ROLES, typed=typed or {"username": "", "role": ""},
        error_message=error.message if error else None, error_field=error.column if error else None,
    )


@router.post("/users", response_class=HTMLResponse)
async def add_user(
    request: Request,
    actor: Annotated[Actor, Depends(user_with("admin"))],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    """An administrator adds a user to their own organisation; a refusal shows the page again (422)."""
    name = username.strip()
    try:
        if role not in ROLES:
            raise InputError(f"the role must be one of {', '.join(ROLES)}; got {role[:40]!r}", column="role")
        check_password(password)
        await store_call(request, "create_user", actor.organisation_id, name, password, role, actor=actor)
    except InputError as err:
        return await _users_page(request, actor, err, {"username": name[:200], "role": role})
    flash(request, "ok", "users.added", username=name)
    return redirect("/users")


@router.post("/users/{username}/deactivate")
async def deactivate_user(
    request: Request, username: str, actor: Annotated[Actor, Depends(user_with("admin"))]
) -> RedirectResponse:
    """Switch a user of the organisation off; their sessions end at their next request (within 30 s)."""
    if username == actor.username:
        raise InputError("you cannot switch yourself off; ask another administrator", column="username")
    await store_call(request, "deactivate_user", actor, username)
    request.app.state.users_seen.clear()
    flash(request, "ok", "users.deactivated", username=username)
    return redirect("/users")


@router.post("/users/{username}/reactivate")
async def reactivate_user(
    request: Request, username: str, actor: Annotated[Actor, Depends(user_with("admin"))]
) -> RedirectResponse:
    """Switch a user of the organisation on again, with the password they had."""
    await store_call(request, "reactivate_user", actor, username)
    request.app.state.users_seen.clear()
    flash(request, "ok", "users.reactivated", username=username)
    return redirect("/users")


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, actor: Annotated[Actor, Depends(user_with("read"))]) -> HTMLResponse:
    return _password_page(request)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    actor: Annotated[Actor, Depends(user_with("read"))],
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
) -> Response:
    """Change one's own password: the current one proven, the new one typed twice; then a new CSRF token,
    and the user's other sessions end. Wrong current passwords count with failed logins (the same throttle)."""
    if _throttled(actor.username):
        raise _locked_out(actor.username)
    try:
        if new_password != new_password_again:
            raise InputError(translator(language(request))("account.mismatch"), column="new_password_again")
        check_password(new_password, "new_password")
        # not through the gate, like the login: argon2 takes its time
        epoch = await run_in_threadpool(store_of(request).change_own_password, actor, current_password, new_password)
    except InputError as err:
        if err.column == "current_password":
            _FAILURES[actor.username[:100]].append(time.monotonic())
            log.warning("wrong current password for %r on a password change", actor.username[:64])
        return _password_page(request, err)
    # the user's other sessions have ended (an older epoch): this one goes on with the new epoch, and this
    # process forgets what it knew of the user at once (the others within RECHECK_SECONDS)
    request.session["user"] = {**request.session["user"], "epoch": epoch}
    request.app.state.users_seen.pop(actor.id, None)
    request.session.pop(CSRF_FIELD, None)  # the next page makes a new token
    log.info("password changed by %s", actor.username)
    flash(request, "ok", "account.changed")
    return redirect("/dashboard")


def _password_page(request: Request, error: InputError | None = None) -> HTMLResponse:
    return render(request, "account/password.j2", status_code=422 if error else 200, section="account",
                  error_message=error.message if error else None, error_field=error.column if error else None)
