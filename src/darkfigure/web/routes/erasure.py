"""Erasing a whole case (the right to erasure): a confirmation page, then the erasure (administrators only).

Caseworkers and analysts get 403; another organisation's case and a code nobody has get the same 404.
The confirmation page shows the case code and its pseudonymous summary only: opening it is no view of
identifying data, so it writes no audit entry. The erasure itself is audited by the store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from darkfigure.casestore.erasure import REASON_LIMIT
from darkfigure.casestore.types import Actor
from darkfigure.errors import InputError
from darkfigure.web.pages import flash, redirect, render, user_with
from darkfigure.web.routes.cases import case_call, checked_code

router = APIRouter()
Admin = Annotated[Actor, Depends(user_with("admin"))]


@router.get("/cases/{code}/erase", response_class=HTMLResponse)
async def erase_form(request: Request, code: str, actor: Admin) -> HTMLResponse:
    """Ask to confirm: the case code, a reason, and a warning that an erasure cannot be undone."""
    summary = await case_call(request, "erasure_summary", actor, checked_code(code))
    return _page(request, summary)


@router.post("/cases/{code}/erase", response_class=HTMLResponse)
async def erase(request: Request, code: str, actor: Admin) -> Response:
    """Erase the case and everything of it; back to the case list. A reason that cannot be used (none,
    too long, or holding the person's name, a number, an e-mail address or a control character) brings
    the confirmation page back (422)."""
    summary = await case_call(request, "erasure_summary", actor, checked_code(code))
    reason = (await request.form()).get("reason")
    try:
        report = await case_call(request, "erase_case", actor, summary.code, reason if isinstance(reason, str) else "")
    except InputError as err:
        return _page(request, summary, err)
    flash(request, "ok", "erase.done", code=report.code)
    if report.wal_cleared is False:
        flash(request, "warn", "erase.wal_kept")
    return redirect("/cases")


def _page(request: Request, summary, error: InputError | None = None) -> HTMLResponse:
    # the reason typed is not sent back: refused, it may hold the person's name
    return render(
        request, "cases/erase.j2", status_code=422 if error else 200, section="cases", summary=summary,
        reason_limit=REASON_LIMIT, error=getattr(error, "message", None),
    )
