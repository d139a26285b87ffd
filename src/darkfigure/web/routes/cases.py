"""The case list with search, filters and pages; intake and edit forms; the case view and its timeline."""

from __future__ import annotations

import functools
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from darkfigure.casestore.fields import FIELDS
from darkfigure.casestore.types import HIDDEN, PURPOSES, Actor, CaseNotFound, CaseSummary, ConsentWithdrawn
from darkfigure.errors import AccessDenied, InputError
from darkfigure.web import forms
from darkfigure.web.i18n import translator
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
    return await _list_page(request, actor, q, chosen, page, names=False)  # a name never comes in an address


@router.post("/cases/search", response_class=HTMLResponse)
async def case_search(request: Request, actor: Reader) -> HTMLResponse:
    """The search form: by POST, so a name searched never enters an address, a browser history, a proxy's
    or the server's log (the filters and page come in the form too)."""
    form = await request.form()

    def text(name: str, limit: int = 60) -> str:
        value = form.get(name, "")
        return value.strip()[:limit] if isinstance(value, str) else ""

    year, page = text("year", 5), text("page", 7) or "1"
    if year and not re.fullmatch(r"\d{4}", year):  # refused as GET /cases refuses them, not quietly dropped
        raise InputError(f"expected a year of 4 digits; got {year!r}", column="year")
    if not re.fullmatch(r"\d{1,6}", page) or not 1 <= int(page) <= 100_000:
        raise InputError(f"expected a page number from 1 to 100000; got {page!r}", column="page")
    chosen = {"status": text("status"), "gender": text("gender"), "type_of_exploitation": text("type_of_exploitation"),
              "year": int(year) if year else None, "consent": text("consent", 20)}
    return await _list_page(request, actor, text("q", 200), chosen, int(page))


@router.get("/cases/search")
def case_search_address(actor: Reader) -> RedirectResponse:
    return redirect("/cases")


async def _list_page(
    request: Request, actor: Actor, q: str, chosen: dict, page: int, names: bool = True
) -> HTMLResponse:
    filters = {k: v for k, v in chosen.items() if v not in ("", None)}
    per_page = request.app.state.config.per_page
    found = await store_call(request, "list_cases", actor, search=q.strip() or None, filters=filters, page=page,
                             per_page=per_page, names=names)
    query = {k: ("" if v is None else v) for k, v in chosen.items()}
    lang = language(request)
    return render(
        request, "cases/list.j2", section="cases", found=found, rows=table_rows(found.items, lang), q=q,
        filters=chosen, query=query, status_options=options_html(lang, "cas_Status", chosen["status"]),
        gender_options=options_html(lang, "prs_Gender", chosen["gender"]),
        exploitation_options=options_html(lang, "vic_TypeOfExploitation", chosen["type_of_exploitation"]),
        consent_options=options_html(lang, "purpose", chosen["consent"]),
    )


@functools.lru_cache(maxsize=1024)
def options_html(lang: str, picklist: str, selected: str) -> Markup:
    """The ``<option>`` elements of one filter (a pick-list, or ``purpose``), ``selected`` marked; made once
    per language and choice (a loop of escaped template steps per page otherwise).

    >>> str(options_html("en", "cas_Status", "Closed")).split("</option>")[2]
    '<option value="Closed" selected>Closed'
    """
    if picklist == "purpose":
        t = translator(lang)
        labels = {p: t(f"purpose.{p}") for p in PURPOSES}
    else:
        labels = {v: option_label(lang, picklist, v) for v in forms.picklist_options(picklist)}
    return Markup("".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(label)}</option>'
        for v, label in labels.items()
    ))


_ROW = (
    '<tr><td class="code"><a href="/cases/{0}">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td>'
    "<td>{5}</td><td>{6}</td><td>{7}</td></tr>\n"
)


def table_rows(summaries: list, lang: str) -> Markup:
    """The rows of the case table, every value escaped. Made here, not in the template, from labels
    escaped once per language and value (cached): an escape per cell of 50 rows was most of a list
    page's cost.

    >>> from darkfigure.casestore.types import CaseSummary
    >>> row = table_rows([CaseSummary("K7M4-QX9P", "Active", None, 2025, None, (), ("KR", "<b>"), None)], "en")
    >>> str(row).split("</td>")[1:7]
    ['<td>Active', '<td>', '<td>', '<td>', '<td>KR, &lt;b&gt;', '<td>2025']
    """
    return Markup("".join(_row(c, lang) for c in summaries))


def _row(c: CaseSummary, lang: str) -> str:
    return _ROW.format(
        _escaped(c.code), _label_html(lang, "cas_Status", c.status), _label_html(lang, "prs_Gender", c.gender),
        _escaped(c.age_broad), _tags_html(lang, c.types_of_exploitation), _joined_html(c.citizenship),
        int(c.registration_year) if c.registration_year is not None else "",
        c.updated_at.date().isoformat() if c.updated_at else "",
    )


@functools.lru_cache(maxsize=8192)
def _escaped(value: str | None) -> str:
    return str(escape(value)) if value else ""


@functools.lru_cache(maxsize=4096)
def _label_html(lang: str, picklist: str, value: str | None) -> str:
    return str(escape(option_label(lang, picklist, value))) if value else ""


@functools.lru_cache(maxsize=4096)
def _tags_html(lang: str, values: tuple) -> str:
    return "".join(f'<span class="tag">{escape(option_label(lang, "vic_TypeOfExploitation", e))}</span> '
                   for e in values)


@functools.lru_cache(maxsize=4096)
def _joined_html(values: tuple) -> str:
    return str(escape(", ".join(values)))


@router.get("/cases/new", response_class=HTMLResponse)
def intake_form(request: Request, actor: Writer) -> HTMLResponse:
    return _case_form(request, "new", values={}, consents={})


@router.post("/cases", response_class=HTMLResponse)
async def create_case(request: Request, actor: Writer) -> Response:
    """Intake: a new case in the user's organisation; bad values come back on the form (422)."""
    form = await request.form()
    data = forms.new_case(form)
    try:
        code = await case_call(request, "create_case", actor, data)
    except InputError as err:
        values = forms.form_values(forms.case_fields(form, include_empty=True))
        return _case_form(request, "new", values, data.consents, error=err)
    flash(request, "ok", "cases.created", code=code)
    return redirect(f"/cases/{code}")


@router.get("/cases/{code}", response_class=HTMLResponse)
async def case_view(request: Request, code: str, actor: Reader) -> HTMLResponse:
    """One case with its timeline of events; another organisation's case is a 404 page."""
    return _view_page(request, await case_call(request, "get_case", actor, checked_code(code)))


def _view_page(request: Request, case, status_code: int = 200, party: str | None = None, values=None,
               error=None) -> HTMLResponse:
    """The case view; after a refused perpetrator or support plan (``party``), that form open again with
    what was typed and the field at fault."""
    events = sorted(case.events, key=lambda e: (str(e.date) if e.date not in (None, HIDDEN) else str(e.year or "")))
    return render(
        request, "cases/view.j2", status_code=status_code, section="cases", case=case, events=events,
        sections=forms.sections(language(request)), hidden=HIDDEN, purposes=PURPOSES,
        event_types=forms.picklist_options("hte_Type"), perpetrator_roles=forms.picklist_options("per_RoleInProcess"),
        plan_types=forms.picklist_options("spl_Type"), perpetrator_fields=forms.PERPETRATOR_FIELDS,
        plan_fields=forms.SUPPORT_PLAN_FIELDS, party=party, party_values=values or {},
        party_error=getattr(error, "message", str(error)) if error else None,
        party_field=getattr(error, "column", None) if error else None,
    )


@router.get("/cases/{code}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, code: str, actor: Writer) -> HTMLResponse:
    """The edit form; identifying fields hidden from the user (case-work consent withdrawn) are shown as
    not editable, never as inputs holding the word ``hidden``."""
    case = await case_call(request, "get_case", actor, checked_code(code))
    return _case_form(request, "edit", forms.form_values(case.fields), case.consents, case=case)


@router.post("/cases/{code}/edit", response_class=HTMLResponse)
async def update_case(request: Request, code: str, actor: Writer) -> Response:
    """Save the edit form: bad values come back on it (422); a change that withdrawn consent for case
    work forbids comes back on it too (403), with the field refused."""
    case = await case_call(request, "get_case", actor, checked_code(code))
    form = await request.form()
    data = forms.changed_case(form, case.consents, locked=case.identity_hidden)
    try:
        await store_call(request, "update_case", actor, case.code, data)
    except CaseNotFound:
        raise AccessDenied("no such case") from None
    except (InputError, ConsentWithdrawn) as err:
        values = forms.form_values(forms.case_fields(form, include_empty=True))
        withdrawn = isinstance(err, ConsentWithdrawn)
        message = translator(language(request))("error.consent_withdrawn") if withdrawn else None
        return _case_form(request, "edit", values, forms.consents_of(form), case=case, error=err,
                          status_code=403 if withdrawn else 422, message=message)
    flash(request, "ok", "cases.updated_ok", code=case.code)
    return redirect(f"/cases/{case.code}")


@router.post("/cases/{code}/events")
async def add_event(request: Request, code: str, actor: Writer) -> RedirectResponse:
    """Add a historic trafficking event (recruitment, transit, exploitation) to the timeline."""
    event = forms.event_of(await request.form())
    await case_call(request, "add_event", actor, checked_code(code), event)
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
    await case_call(request, "record_consent", actor, checked_code(code), purpose, given == "yes")
    flash(request, "ok", "cases.consent_recorded")
    return redirect(f"/cases/{code}")


def checked_code(code: str) -> str:
    """The code from an address when it can be a case code; otherwise AccessDenied (the same 404 as a
    case nobody has).

    >>> checked_code("K7M4-QX9P")
    'K7M4-QX9P'
    """
    if not _CODE.fullmatch(code):
        raise AccessDenied("no such case")
    return code


async def case_call(request: Request, method: str, *args):
    """A store call about one case; a case that does not exist becomes the same 404 as another
    organisation's case, so nobody learns which codes exist."""
    try:
        return await store_call(request, method, *args)
    except CaseNotFound:
        raise AccessDenied("no such case") from None
    except ConsentWithdrawn:  # the user may see the case (same organisation): say why, not a 404
        raise HTTPException(status_code=403, detail="error.consent_withdrawn") from None


def _case_form(request: Request, mode: str, values: dict, consents: dict, case=None, error=None,
               status_code: int = 422, message: str | None = None) -> HTMLResponse:
    field = getattr(error, "column", None)
    return render(
        request, "cases/form.j2", status_code=status_code if error else 200,
        section="new" if mode == "new" else "cases",
        mode=mode, case=case, values=values, consents=consents, sections=forms.sections(language(request)),
        purposes=PURPOSES, locked=bool(case and case.identity_hidden),
        withdrawn=bool(case and case.consents.get("case_work") is False),
        options=forms.picklist_options, error=error, error_field=field if field in FIELDS else None,
        error_message=message or getattr(error, "message", str(error)) if error else None,
    )



@router.post("/cases/{code}/perpetrators", response_class=HTMLResponse)
async def add_perpetrator(request: Request, code: str, actor: Writer) -> Response:
    """Add a perpetrator (names, roles in the process); bad values come back on the case view (422)."""
    form = await request.form()
    return await _add_party(request, actor, checked_code(code), "perpetrator", form, forms.perpetrator_of)


@router.post("/cases/{code}/support-plans", response_class=HTMLResponse)
async def add_support_plan(request: Request, code: str, actor: Writer) -> Response:
    """Add a support plan (type, objectives, action plan, dates); bad values come back on the case view (422)."""
    form = await request.form()
    return await _add_party(request, actor, checked_code(code), "support_plan", form, forms.support_plan_of)


async def _add_party(request: Request, actor: Actor, code: str, party: str, form, read) -> Response:
    """Add the item ``read(form)`` gives; a refused form (empty, or a value the store refuses) reopens on
    the case view with what was typed and the field at fault (422)."""
    method, names = {"perpetrator": ("add_perpetrator", forms.PERPETRATOR_FIELDS),
                     "support_plan": ("add_support_plan", forms.SUPPORT_PLAN_FIELDS)}[party]
    try:
        await case_call(request, method, actor, code, read(form))
    except InputError as err:
        case = await case_call(request, "get_case", actor, code)
        return _view_page(request, case, 422, party, forms.party_values(form, names), err)
    flash(request, "ok", f"party.{party}_added")
    return redirect(f"/cases/{code}#{party.replace('_', '-')}s")
