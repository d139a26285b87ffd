"""The case list with search, filters and pages; intake and edit forms; the case view and its timeline."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from darkfigure.casestore.fields import FIELDS
from darkfigure.casestore.types import HIDDEN, PURPOSES, Actor, CaseNotFound, CaseSummary
from darkfigure.errors import AccessDenied, InputError
from darkfigure.web import forms
from darkfigure.web.pages import flash, language, option_label, redirect, render, store_call, user_with

router = APIRouter()
Reader = Annotated[Actor, Depends(user_with("read"))]
Writer = Annotated[Actor, Depends(user_with("write"))]
_CODE = re.compile(r"[A-Za-z0-9-]{1,40}")  # anything else cannot be a case code: 404 at once
FILTERS = ("status", "gender", "type_of_exploitation", "year", "consent")


@router.get("/cases", response_class=HTMLResponse)
async def case_list(
    request: Request,
    actor: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=60)] = "",
    gender: Annotated[str, Query(max_length=60)] = "",
    type_of_exploitation: Annotated[str, Query(max_length=60)] = "",
    year: Annotated[str, Query(max_length=4, pattern=r"^(\d{4})?$")] = "",
    consent: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Filter, and search by case code in the address (names go by POST to /cases/search)."""
    chosen = {"status": status, "gender": gender, "type_of_exploitation": type_of_exploitation,
              "year": int(year) if year else None, "consent": consent}
    return await _list_page(request, actor, q, chosen, page)


@router.post("/cases/search", response_class=HTMLResponse)
async def case_search(request: Request, actor: Reader) -> HTMLResponse:
    """The search form: by POST, so a name searched never enters an address, a browser history, a proxy's
    or the server's log (the filters and page come in the form too)."""
    form = await request.form()

    def text(name: str, limit: int = 60) -> str:
        value = form.get(name, "")
        return value.strip()[:limit] if isinstance(value, str) else ""

    year, page = text("year", 4), text("page", 6)
    chosen = {"status": text("status"), "gender": text("gender"), "type_of_exploitation": text("type_of_exploitation"),
              "year": int(year) if re.fullmatch(r"\d{4}", year) else None, "consent": text("consent", 20)}
    number = min(max(int(page), 1), 100_000) if page.isdigit() else 1
    return await _list_page(request, actor, text("q", 200), chosen, number)


@router.get("/cases/search")
def case_search_address(actor: Reader) -> RedirectResponse:
    return redirect("/cases")


async def _list_page(request: Request, actor: Actor, q: str, chosen: dict, page: int) -> HTMLResponse:
    filters = {k: v for k, v in chosen.items() if v not in ("", None)}
    per_page = request.app.state.config.per_page
    found = await store_call(request, "list_cases", actor, search=q.strip() or None, filters=filters, page=page,
                             per_page=per_page)
    query = {k: ("" if v is None else v) for k, v in chosen.items()}
    return render(
        request, "cases/list.j2", section="cases", found=found, rows=table_rows(found.items, language(request)), q=q,
        filters=chosen, query=query,
        purposes=PURPOSES, status_options=forms.picklist_options("cas_Status"),
        gender_options=forms.picklist_options("prs_Gender"),
        exploitation_options=forms.picklist_options("vic_TypeOfExploitation"),
    )


_ROW = (
    '<tr><td class="code"><a href="/cases/{0}">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td>'
    "<td>{5}</td><td>{6}</td><td>{7}</td></tr>\n"
)


def table_rows(summaries: list, lang: str) -> Markup:
    """The rows of the case table, every value escaped. Made here, not in the template: a label call
    and an escape per template step made the table most of the page's cost (``Markup.format`` is
    slower still: each value goes through ``escape`` and ``str.format`` instead).

    >>> from darkfigure.casestore.types import CaseSummary
    >>> row = table_rows([CaseSummary("K7M4-QX9P", "Active", None, 2025, None, (), ("KR", "<b>"), None)], "en")
    >>> str(row).split("</td>")[1:7]
    ['<td>Active', '<td>', '<td>', '<td>', '<td>KR, &lt;b&gt;', '<td>2025']
    """
    return Markup("".join(_ROW.format(*map(escape, _cells(c, lang))) for c in summaries))


def _cells(c: CaseSummary, lang: str) -> tuple:
    tags = "".join(f'<span class="tag">{escape(option_label(lang, "vic_TypeOfExploitation", e))}</span> '
                   for e in c.types_of_exploitation)
    return (
        c.code, option_label(lang, "cas_Status", c.status) if c.status else "",
        option_label(lang, "prs_Gender", c.gender) if c.gender else "", c.age_broad or "", Markup(tags),
        ", ".join(c.citizenship), c.registration_year or "", c.updated_at.date().isoformat() if c.updated_at else "",
    )


@router.get("/cases/new", response_class=HTMLResponse)
def intake_form(request: Request, actor: Writer) -> HTMLResponse:
    return _case_form(request, "new", values={}, consents={})


@router.post("/cases", response_class=HTMLResponse)
async def create_case(request: Request, actor: Writer) -> Response:
    """Intake: a new case in the user's organisation; bad values come back on the form (422)."""
    form = await request.form()
    data = forms.new_case(form)
    try:
        code = await _case_call(request, "create_case", actor, data)
    except InputError as err:
        values = forms.form_values(forms.case_fields(form, include_empty=True))
        return _case_form(request, "new", values, data.consents, error=err)
    flash(request, "ok", "cases.created", code=code)
    return redirect(f"/cases/{code}")


@router.get("/cases/{code}", response_class=HTMLResponse)
async def case_view(request: Request, code: str, actor: Reader) -> HTMLResponse:
    """One case with its timeline of events; another organisation's case is a 404 page."""
    case = await _case_call(request, "get_case", actor, _checked(code))
    events = sorted(case.events, key=lambda e: (str(e.date) if e.date not in (None, HIDDEN) else str(e.year or "")))
    return render(
        request, "cases/view.j2", section="cases", case=case, events=events, sections=forms.sections(language(request)),
        hidden=HIDDEN, purposes=PURPOSES, event_types=forms.picklist_options("hte_Type"),
    )


@router.get("/cases/{code}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, code: str, actor: Writer) -> HTMLResponse:
    case = await _case_call(request, "get_case", actor, _checked(code))
    return _case_form(request, "edit", forms.form_values(case.fields), case.consents, case=case)


@router.post("/cases/{code}/edit", response_class=HTMLResponse)
async def update_case(request: Request, code: str, actor: Writer) -> Response:
    case = await _case_call(request, "get_case", actor, _checked(code))
    form = await request.form()
    data = forms.changed_case(form, case.consents)
    try:
        await _case_call(request, "update_case", actor, case.code, data)
    except InputError as err:
        values = forms.form_values(forms.case_fields(form, include_empty=True))
        return _case_form(request, "edit", values, forms.consents_of(form), case=case, error=err)
    flash(request, "ok", "cases.updated_ok", code=case.code)
    return redirect(f"/cases/{case.code}")


@router.post("/cases/{code}/events")
async def add_event(request: Request, code: str, actor: Writer) -> RedirectResponse:
    """Add a historic trafficking event (recruitment, transit, exploitation) to the timeline."""
    event = forms.event_of(await request.form())
    await _case_call(request, "add_event", actor, _checked(code), event)
    flash(request, "ok", "cases.event_added")
    return redirect(f"/cases/{code}#timeline")


@router.post("/cases/{code}/consent")
async def record_consent(request: Request, code: str, actor: Writer) -> RedirectResponse:
    form = await request.form()
    purpose, given = form.get("purpose"), form.get("given")
    if purpose not in PURPOSES:
        raise InputError(f"the purpose must be one of {', '.join(PURPOSES)}; got {str(purpose)[:40]!r}",
                         column="purpose")
    if given not in ("yes", "no"):
        raise InputError(f"consent must be yes or no; got {str(given)[:10]!r}", column="given")
    await _case_call(request, "record_consent", actor, _checked(code), purpose, given == "yes")
    flash(request, "ok", "cases.consent_recorded")
    return redirect(f"/cases/{code}")


def _checked(code: str) -> str:
    if not _CODE.fullmatch(code):
        raise AccessDenied("no such case")
    return code


async def _case_call(request: Request, method: str, *args):
    """A store call about one case; a case that does not exist becomes the same 404 as another
    organisation's case, so nobody learns which codes exist."""
    try:
        return await store_call(request, method, *args)
    except CaseNotFound:
        raise AccessDenied("no such case") from None


def _case_form(request: Request, mode: str, values: dict, consents: dict, case=None, error=None) -> HTMLResponse:
    field = getattr(error, "column", None)
    return render(
        request, "cases/form.j2", status_code=422 if error else 200, section="new" if mode == "new" else "cases",
        mode=mode, case=case, values=values, consents=consents, sections=forms.sections(language(request)),
        purposes=PURPOSES,
        options=forms.picklist_options, error=error, error_field=field if field in FIELDS else None,
        error_message=getattr(error, "message", str(error)) if error else None,
    )

