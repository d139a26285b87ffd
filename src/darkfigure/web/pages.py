"""Rendering pages: the template environment, the language and user of a request, flash messages."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from darkfigure.casestore.fields import FIELDS, PICKLISTS
from darkfigure.casestore.types import Actor
from darkfigure.web.i18n import catalogue, choose_language, translator
from darkfigure.web.security import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
# templates compiled once per process (no stat of every file on every page: they change with a release)
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=-1,
)
STORE_THREADS = 1  # store calls at once per process (see store_gate)
RECHECK_SECONDS = 30  # how stale a user's role or active flag may be in one process
# what each role may do in the interface; the store checks again on every call
_ABILITIES = {
    "administrator": {"read", "write", "identity", "admin"},
    "caseworker": {"read", "write", "identity"},
    "analyst": {"read"},
}


def language(request: Request) -> str:
    """The interface language of this request (remembered in the session when ``?lang=`` picks one)."""
    chosen = choose_language(
        request.query_params.get("lang"), request.session.get("lang"), request.headers.get("accept-language")
    )
    if request.query_params.get("lang") == chosen and request.session.get("lang") != chosen:
        request.session["lang"] = chosen
    return chosen


def current_actor(request: Request) -> Actor | None:
    """The logged-in user, from the signed session cookie, or None."""
    who = request.session.get("user")
    if not isinstance(who, dict):
        return None
    return Actor(who["id"], who["username"], who["organisation_id"], who["role"])


def may(actor: Actor | None, ability: str) -> bool:
    """Whether the interface offers ``ability`` (read, write, identity, admin) to this user.

    >>> may(Actor(1, "a", 1, "analyst"), "identity")
    False
    """
    return actor is not None and ability in _ABILITIES.get(actor.role, set())


def _session_epoch(request: Request) -> int:
    """The session epoch the session's user logged in with (0 for sessions from before epochs)."""
    who = request.session.get("user")
    epoch = who.get("epoch", 0) if isinstance(who, dict) else 0
    return epoch if isinstance(epoch, int) else -1


class LoginRequired(Exception):
    """Raised by the page guards when nobody is logged in: the answer is a redirect to the login page."""


def user_with(ability: str) -> Callable[[Request], Any]:
    """A route dependency giving the logged-in user, who must have ``ability`` (else 403; nobody: login).

    The user is looked up again (at most every :data:`RECHECK_SECONDS`): a deactivated user is logged
    out, so is a session from before the user's password was last set (its session epoch is older), and
    a changed role takes effect, whatever the session cookie says.
    """

    async def guard(request: Request) -> Actor:
        actor = await _current_user(request)
        if actor is None:
            request.session.clear()
            raise LoginRequired()
        if not may(actor, ability):
            raise HTTPException(status_code=403, detail="error.403")
        return actor

    return guard


async def _current_user(request: Request) -> Actor | None:
    """The session's user as the store knows them (re-read at most every :data:`RECHECK_SECONDS` per
    process), or None: switched off, or the session's epoch is not the user's (the password was set
    since that login)."""
    claimed = current_actor(request)
    if claimed is None:
        return None
    epoch = _session_epoch(request)
    known: dict = request.app.state.users_seen
    seen = known.get(claimed.id)
    # a session newer than what this process remembers (a login after a change elsewhere): read again
    if seen is None or seen[0] < time.monotonic() or (seen[1] is not None and seen[1].session_epoch < epoch):
        seen = known[claimed.id] = (time.monotonic() + RECHECK_SECONDS, await store_call(request, "user", claimed.id))
    actor = seen[1]
    if actor is None or actor.session_epoch != epoch:
        return None
    if actor.role != claimed.role:
        request.session["user"] = {**request.session["user"], "role": actor.role}
    return actor


def store_of(request: Request) -> Any:
    """The case store the application serves."""
    return request.app.state.store


def store_gate(store: Any) -> anyio.CapacityLimiter:
    """How many store calls one process runs at once, in threads: one. The threads of a process share
    one interpreter lock; with 20 requests at once, 16 store threads (the earlier bound) spent more time
    handing the lock to each other than working (a case list cost 7.8 ms of CPU instead of 2.8), and
    even two cost a name search more than one did. More processes (``--workers``), not threads, use
    more cores. Long jobs (an import, an export, checking the whole audit chain) go to the shared
    thread pool instead (:func:`store_job`), so they do not hold up the pages."""
    return anyio.CapacityLimiter(STORE_THREADS)


async def store_job(request: Request, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a long store method (seconds: an export, a check of the whole audit chain) in the shared
    thread pool, outside the one store thread the pages use."""
    store = request.app.state.store
    return await anyio.to_thread.run_sync(functools.partial(getattr(store, method), *args, **kwargs))


async def store_call(request: Request, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call one case-store method off the event loop, in one of the process's few store threads."""
    store = request.app.state.store
    return await anyio.to_thread.run_sync(
        functools.partial(getattr(store, method), *args, **kwargs), limiter=request.app.state.gate
    )


def flash(request: Request, kind: str, key: str, **fields: Any) -> None:
    """Queue a message for the next page (``kind`` ok, warn or error; ``key`` a text key)."""
    request.session.setdefault("flashes", [])
    request.session["flashes"] = [*request.session["flashes"], [kind, key, fields]]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the request's language, user, CSRF token and pending messages."""
    lang = language(request)
    t = translator(lang)
    actor = current_actor(request)
    flashes = [(kind, t(key, **fields)) for kind, key, fields in request.session.pop("flashes", [])]
    page = _ENV.get_template(name).render(
        request=request, lang=lang, t=t, user=actor, csrf=csrf_token(request), flashes=flashes,
        can=lambda ability: may(actor, ability), section=context.pop("section", None),
        field_label=lambda field: _label(lang, f"fieldname.{field}", FIELDS[field].label if field in FIELDS else field),
        option_label=lambda picklist, value: option_label(lang, picklist, value),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


@functools.lru_cache(maxsize=4096)
def option_label(lang: str, picklist: str, value: str) -> str:
    """The label of one picklist value in ``lang`` (its English label, or the value, when untranslated).

    >>> option_label("en", "cas_Status", "Active")
    'Active'
    """
    return _label(lang, f"pick.{picklist}.{value}", _english(picklist, value))


def _label(lang: str, key: str, english: str) -> str:
    return catalogue(lang).get(key) or english


def _english(picklist: str, value: str) -> str:
    options = PICKLISTS[picklist].options if picklist in PICKLISTS else {}
    return options.get(value, value)


def redirect(url: str) -> RedirectResponse:
    """A 303 redirect (after a POST, the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)
