"""From submitted forms to the case store's inputs, and the pick-lists the forms offer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from darkfigure.casestore.fields import FIELDS, PICKLISTS, FieldSpec
from darkfigure.casestore.types import PURPOSES, CaseInput, EventInput, PerpetratorInput, SupportPlanInput
from darkfigure.errors import InputError

SECTIONS = ("Person", "Victim Context", "Case")
EVENT_FIELDS = ("type", "date", "country", "state", "city", "description")
# the add-perpetrator and add-support-plan forms: HTCDS input name -> text key in locales [party]
PERPETRATOR_FIELDS = {"prs_FirstName": "first_name", "prs_SecondName": "second_name",
                      "per_RoleInProcess": "role_in_process", "per_RoleDetails": "role_details"}
SUPPORT_PLAN_FIELDS = {"spl_Type": "type", "spl_Objectives": "objectives", "spl_ActionPlan": "action_plan",
                       "spl_PlannedEndDate": "planned_end_date", "spl_ActualEndDate": "actual_end_date"}
_LABELS = {name: key.replace("_", " ") for name, key in {**PERPETRATOR_FIELDS, **SUPPORT_PLAN_FIELDS}.items()}


def case_fields(form: FormData, include_empty: bool) -> dict[str, Any]:
    """The HTCDS field values of a submitted case form (empty ones only when ``include_empty``).

    >>> case_fields(FormData([("prs_Gender", "Feminine"), ("prs_FirstName", " ")]), include_empty=False)
    {'prs_Gender': 'Feminine'}
    """
    values = {}
    for name, spec in FIELDS.items():
        value = field_value(form, spec)
        if value is not None or include_empty:
            values[name] = value
    return values


def field_value(form: FormData, spec: FieldSpec) -> Any:
    """One field's value from a form: a list for multi-selects, True/False for yes/no, else stripped text."""
    if spec.kind == "multi":
        return [v for v in form.getlist(spec.name) if isinstance(v, str) and v] or None
    raw = form.get(spec.name)
    if not isinstance(raw, str) or not raw.strip():
        return None
    if spec.kind == "bool":
        return {"yes": True, "no": False}.get(raw, raw)
    return raw.strip()


def consents_of(form: FormData) -> dict[str, bool]:
    """The consent checkboxes of a form, one per purpose (unticked = not given).

    >>> consents_of(FormData([("consent_statistics", "on")]))["statistics"]
    True
    """
    return {purpose: form.get(f"consent_{purpose}") == "on" for purpose in PURPOSES}


def new_case(form: FormData) -> CaseInput:
    """A :class:`CaseInput` from the intake form: consents ticked are given, the others not yet asked."""
    given = {purpose: True for purpose, ticked in consents_of(form).items() if ticked}
    return CaseInput(case_fields(form, include_empty=False), given)


def changed_case(form: FormData, current_consents: Mapping[str, bool | None], locked: bool = False) -> CaseInput:
    """A :class:`CaseInput` from the edit form: every field (empty clears it), consents that changed.
    ``locked``: the identifying fields were not on the form (hidden from the user), so they are left out,
    not cleared (the store compares what is left with what it holds and changes only what differs).

    >>> changed_case(FormData([("cas_Status", "Closed")]), {}, locked=True).fields.get("prs_FirstName", "left out")
    'left out'
    """
    consents = {p: given for p, given in consents_of(form).items() if bool(current_consents.get(p)) != given}
    fields = case_fields(form, include_empty=True)
    if locked:
        fields = {name: value for name, value in fields.items() if not FIELDS[name].identifying}
    return CaseInput(fields, consents)


def event_of(form: FormData) -> EventInput:
    """An :class:`EventInput` from the add-event form (empty parts left out).

    >>> event_of(FormData([("type", "Transit"), ("country", "CN"), ("city", "")])).city is None
    True
    """
    parts = {name: (form.get(name) or "").strip() or None for name in EVENT_FIELDS}
    return EventInput(parts.pop("type") or "", **parts)


def perpetrator_of(form: FormData) -> PerpetratorInput:
    """A :class:`PerpetratorInput` from the add-perpetrator form (the store checks the pick-list); a form
    with every field empty is refused (InputError naming its first field), not saved as a blank perpetrator.

    >>> perpetrator_of(FormData([("prs_FirstName", " Lee "), ("per_RoleInProcess", "Smuggler")])).first_name
    'Lee'
    >>> try:
    ...     perpetrator_of(FormData([("prs_FirstName", " ")]))
    ... except InputError as err:
    ...     err.column
    'prs_FirstName'
    """
    parts = party_values(form, PERPETRATOR_FIELDS)
    refuse_empty(parts, "a perpetrator")
    return PerpetratorInput(parts["prs_FirstName"], parts["prs_SecondName"], parts["per_RoleInProcess"],
                            parts["per_RoleDetails"])


def support_plan_of(form: FormData) -> SupportPlanInput:
    """A :class:`SupportPlanInput` from the add-support-plan form (empty parts left out). Its type is
    required: an all-empty plan is refused by the store (InputError naming ``spl_Type``), within the
    route's error handling, so the case view reopens the form.

    >>> support_plan_of(FormData([("spl_Type", "Legal"), ("spl_PlannedEndDate", "")])).planned_end_date is None
    True
    """
    parts = party_values(form, SUPPORT_PLAN_FIELDS)
    return SupportPlanInput(parts["spl_Type"] or "", parts["spl_Objectives"], parts["spl_ActionPlan"],
                            parts["spl_PlannedEndDate"], parts["spl_ActualEndDate"])


def refuse_empty(values: Mapping[str, Any], what: str) -> None:
    """InputError naming the first field when every one of ``values`` (from :func:`party_values`) is
    empty, in the shape the store's own refusals have (the field at fault as ``column``).

    >>> refuse_empty({"spl_Type": "Legal", "spl_Objectives": None}, "a support plan")
    """
    if any(values.values()):
        return
    labels = ", ".join(_LABELS.get(name, name) for name in values)
    raise InputError(f"{what} needs at least one of {labels}; every field was empty", column=next(iter(values)))


def party_values(form: FormData, names: Mapping[str, str]) -> dict[str, Any]:
    """The submitted values of one of those forms, as typed (to show them back): a list for the
    multi-select role, stripped text or None for the others.

    >>> party_values(FormData([("per_RoleInProcess", "Abuser")]), PERPETRATOR_FIELDS)["per_RoleInProcess"]
    ['Abuser']
    """
    values: dict[str, Any] = {}
    for name in names:
        if name == "per_RoleInProcess":
            values[name] = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        else:
            raw = form.get(name)
            values[name] = (raw.strip() or None) if isinstance(raw, str) else None
    return values


def form_values(view_fields: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as the form shows them: multi-selects as lists, yes/no as text, dates ISO.

    >>> form_values({"prs_Deceased": False, "vic_TypeOfExploitation": ("ForcedLabour",)})["prs_Deceased"]
    'no'
    """
    shown = {}
    for name, value in view_fields.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, tuple | list):
            value = list(value) if FIELDS.get(name) and FIELDS[name].kind == "multi" else "; ".join(value)
        elif value is not None and hasattr(value, "isoformat"):
            value = value.isoformat()
        shown[name] = value
    return shown


def picklist_options(name: str) -> dict[str, str]:
    """System name -> English label of one pick-list (empty for a field without one).

    >>> picklist_options("cas_Status")["FollowUp"]
    'Follow Up'
    """
    picklist = PICKLISTS.get(name)
    return dict(picklist.options) if picklist else {}


_FAMILY_FIRST = ("ko",)  # languages whose names put the family name first
_NAME_ORDER = {"prs_SecondName": 0, "prs_FirstName": 1, "prs_MiddleName": 2}


def sections(language: str = "en") -> list[tuple[str, list[FieldSpec]]]:
    """The case fields grouped by HTCDS section, in form order; the name fields given name first, except
    in languages that put the family name first (Korean).

    >>> [f.name for f in sections("ko")[0][1][:4]]
    ['prs_Salutation', 'prs_SecondName', 'prs_FirstName', 'prs_MiddleName']
    """
    grouped = [(section, [f for f in FIELDS.values() if f.section == section]) for section in SECTIONS]
    if language not in _FAMILY_FIRST:
        return grouped
    return [(section, _family_first(specs)) for section, specs in grouped]


def _family_first(specs: list[FieldSpec]) -> list[FieldSpec]:
    slots = [i for i, f in enumerate(specs) if f.name in _NAME_ORDER]
    names = sorted((specs[i] for i in slots), key=lambda f: _NAME_ORDER[f.name])
    ordered = list(specs)
    for i, spec in zip(slots, names, strict=True):
        ordered[i] = spec
    return ordered
