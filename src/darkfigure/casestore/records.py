"""Turning checked case values into database rows (encrypting identifying ones) and rows back into views."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any

from darkfigure.casestore.crypto import KeyRing
from darkfigure.casestore.fields import (
    FIELDS,
    check_choice,
    check_choices,
    check_value,
    decode_multi,
    encode_multi,
    has_control,
    parse_date,
)
from darkfigure.casestore.types import (
    EVENT_TYPES,
    HIDDEN,
    CaseInput,
    CaseSummary,
    EventInput,
    EventView,
    PerpetratorInput,
    PerpetratorView,
    SupportPlanInput,
    SupportPlanView,
)
from darkfigure.errors import InputError

_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: easy to read aloud
AGE_BANDS = (
    (0, 8, "0--8"),
    (9, 17, "9--17"),
    (18, 20, "18--20"),
    (21, 23, "21--23"),
    (24, 26, "24--26"),
    (27, 29, "27--29"),
    (30, 38, "30--38"),
    (39, 47, "39--47"),
    (48, 200, "48+"),
)  # CTDC ageBroad


def new_code() -> str:
    """A random pseudonymous case code such as ``K7M4-QX9P`` (30^8 possibilities, not derived from data).

    >>> len(new_code()), new_code()[4]
    (9, '-')
    """
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def new_uid() -> str:
    """A random record id, used as associated data of the record's ciphertexts.

    >>> len(new_uid())
    32
    """
    return secrets.token_hex(16)


def age_broad(birth: dt.date | None, registered: dt.date | None) -> str | None:
    """The CTDC age band at registration, e.g. ``18--20``; None when a date is missing.

    >>> age_broad(dt.date(2000, 6, 1), dt.date(2019, 5, 31))
    '18--20'
    """
    if birth is None or registered is None:
        return None
    age = registered.year - birth.year - ((registered.month, registered.day) < (birth.month, birth.day))
    return next((band for low, high, band in AGE_BANDS if low <= age <= high), None)


def check_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], list[InputError]]:
    """Checked values by field name, and every error found (each naming its column); a birth date after
    the registration date given with it is an error of ``prs_Birthdate``.

    >>> _, errors = check_fields({"prs_Birthdate": "2020-01-02", "cas_RegistrationDate": "2020-01-01"})
    >>> errors[0].column
    'prs_Birthdate'
    """
    checked, errors = {}, []
    for name, value in fields.items():
        try:
            checked[name] = check_value(name, value)
        except InputError as err:
            errors.append(err)
    try:
        check_dates(checked)
    except InputError as err:
        errors.append(err)
    return checked, errors


def check_dates(dates: dict[str, Any], column: str = "prs_Birthdate") -> None:
    """InputError (naming ``column``) when ``dates`` hold a birth date after the registration date.

    >>> check_dates({"prs_Birthdate": dt.date(2001, 1, 1), "cas_RegistrationDate": dt.date(2024, 1, 1)})
    """
    birth, registered = dates.get("prs_Birthdate"), dates.get("cas_RegistrationDate")
    if isinstance(birth, dt.date) and isinstance(registered, dt.date) and birth > registered:
        raise InputError(
            "the birth date is after the registration date (cas_RegistrationDate); check both dates", column=column
        )


def changed_fields(current: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
    """The checked values that differ from the case's current ones (identifying ones compared in clear,
    as :func:`case_fields` gives them with ``hide`` False).

    >>> stored = {"cas_Status": "Active", "prs_FirstName": "Mina"}
    >>> changed_fields(stored, {"cas_Status": "Closed", "prs_FirstName": "Mina"})
    {'cas_Status': 'Closed'}
    """
    return {name: value for name, value in checked.items() if not _same(current.get(name), value)}


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list | tuple) or isinstance(new, list | tuple):
        return tuple(old or ()) == tuple(new or ())
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    return type(old) is type(new) and old == new


def _as_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else repr(value) if isinstance(value, float) else str(value)


def _from_text(kind: str, text: str) -> Any:
    return dt.date.fromisoformat(text) if kind == "date" else float(text) if kind == "number" else text


def child_uid(case_uid: str, uid: str) -> str:
    """The record part of a child row's associated data: its case's uid and its own, so an event,
    perpetrator or support plan moved to another case (or organisation) no longer decrypts.

    >>> child_uid("c" * 4, "e" * 4)
    'cccc/eeee'
    """
    return f"{case_uid}/{uid}"


def seal(ring: KeyRing, table: str, uid: str, column: str, value: Any) -> bytes | None:
    """The ciphertext of one value (None stays None), bound to table, record and column."""
    return None if value is None else ring.encrypt(_as_text(value), f"{table}/{uid}/{column}")


def unseal(ring: KeyRing, table: str, uid: str, column: str, blob: bytes | None, kind: str = "text") -> Any:
    """The plaintext of one ciphertext (None stays None)."""
    return None if blob is None else _from_text(kind, ring.decrypt(blob, f"{table}/{uid}/{column}"))


def case_columns(ring: KeyRing, uid: str, checked: dict[str, Any]) -> dict[str, Any]:
    """Database column values for checked fields: identifying ones sealed, multi-selects joined."""
    out = {}
    for name, value in checked.items():
        spec = FIELDS[name]
        if spec.identifying:
            out[spec.column] = seal(ring, "cases", uid, spec.column, value)
        elif spec.kind in ("multi", "countries"):
            out[spec.column] = encode_multi(value)
        else:
            out[spec.column] = value
    return out


def case_fields(ring: KeyRing, row: Any, hide: bool) -> dict[str, Any]:
    """Every field of a case row by HTCDS name; identifying ones HIDDEN when ``hide``."""
    mapping = row._mapping
    out = {}
    for name, spec in FIELDS.items():
        raw = mapping[spec.column]
        if spec.identifying:
            out[name] = (
                HIDDEN if hide and raw is not None else unseal(ring, "cases", row.uid, spec.column, raw, spec.kind)
            )
        elif spec.kind in ("multi", "countries"):
            out[name] = decode_multi(raw) or None
        else:
            out[name] = raw
    return out


def summary(row: Any) -> CaseSummary:
    """A pseudonymous list row from a row of the cases table (columns by name)."""
    return summary_of((row.code, row.cas_status, row.prs_gender, row.registration_year, row.age_broad,
                       row.vic_typeofexploitation, row.prs_citizenship, row.updated_at))


def summary_of(values: tuple) -> CaseSummary:
    """A pseudonymous list row from the driver's plain tuple of the summary columns (code, status,
    gender, year, age, exploitation, citizenship, updated), as :class:`~darkfigure.casestore.storage.Prepared`
    gives it: multi-selects decoded once per stored value, a SQLite time text read as a datetime.

    >>> summary_of(("K7M4-QX9P", "Active", None, 2025, None, ";A;B;", None, "2026-11-29 06:54:00.000001")).updated_at
    datetime.datetime(2026, 11, 29, 6, 54, 0, 1)
    """
    code, status, gender, year, age, exploitation, citizenship, updated = values
    if isinstance(updated, str):
        updated = _stored_time(updated)
    return CaseSummary(code, status, gender, year, age, _multi(exploitation), _multi(citizenship), updated)


@functools.lru_cache(maxsize=4096)
def _multi(text: str | None) -> tuple[str, ...]:
    return decode_multi(text)


@functools.lru_cache(maxsize=4096)
def _stored_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _optional_date(value: Any, column: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except InputError as err:
        raise InputError(err.message, column=column) from None


def _optional_text(value: Any, column: str, limit: int = 500) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError(f"expected text, got {type(value).__name__}", column=column)
    text = str(value).strip()
    if len(text) > limit or has_control(text):
        raise InputError(f"expected text of at most {limit} printable characters", column=column)
    return text or None


def event_row(ring: KeyRing, case_id: int, case_uid: str, event: EventInput) -> dict[str, Any]:
    """The database row of a checked event (InputError naming the hte_ column otherwise)."""
    kind = check_choice("hte_Type", event.type, "hte_Type")
    if kind not in EVENT_TYPES:
        raise InputError(f"expected one of {', '.join(EVENT_TYPES)}", column="hte_Type")
    date = _optional_date(event.date, "hte_Date")
    country = _event_value("prs_MailingCountry", event.country, "hte_Country")
    uid = new_uid()
    row = {"uid": uid, "case_id": case_id, "type": kind, "year": date.year if date else None, "country": country}
    bound = child_uid(case_uid, uid)
    texts = {"state": event.state, "city": event.city, "street": event.street, "postal_code": event.postal_code}
    for column, value in texts.items():
        text = _optional_text(value, "hte_" + column.title().replace("_", ""))
        row[column] = seal(ring, "events", bound, column, text)
    row["description"] = seal(
        ring, "events", bound, "description", _optional_text(event.description, "hte_Description", 20000)
    )
    row["date"] = seal(ring, "events", bound, "date", date)
    for column, name in (("latitude", "Latitude"), ("longitude", "Longitude")):
        value = _event_value(f"prs_Mailing{name}", getattr(event, column), f"hte_{name}")
        row[column] = seal(ring, "events", bound, column, value)
    return row


def _event_value(field: str, value: Any, column: str) -> Any:
    """An event's value checked as the case field of the same kind, an error naming the event's column.

    >>> _event_value("prs_MailingCountry", "kr", "hte_Country")
    'KR'
    """
    try:
        return check_value(field, value)
    except InputError as err:
        raise InputError(err.message, column=column) from None


def event_view(ring: KeyRing, row: Any, hide: bool, case_uid: str) -> EventView:
    """An event as the actor may see it."""

    def open_(column: str, kind: str = "text") -> Any:
        raw = getattr(row, column)
        bound = child_uid(case_uid, row.uid)
        return HIDDEN if hide and raw is not None else unseal(ring, "events", bound, column, raw, kind)

    return EventView(
        row.uid,
        row.type,
        row.year,
        open_("date", "date"),
        row.country,
        open_("state"),
        open_("city"),
        open_("street"),
        open_("postal_code"),
        open_("latitude", "number"),
        open_("longitude", "number"),
        open_("description"),
    )


def perpetrator_row(ring: KeyRing, case_id: int, case_uid: str, perp: PerpetratorInput) -> dict[str, Any]:
    """The database row of a checked perpetrator."""
    uid = new_uid()
    bound = child_uid(case_uid, uid)
    roles = check_choices("per_RoleInProcess", perp.role_in_process, "per_RoleInProcess")
    return {
        "uid": uid,
        "case_id": case_id,
        "role_in_process": encode_multi(roles),
        "first_name": seal(ring, "perpetrators", bound, "first_name", _optional_text(perp.first_name, "prs_FirstName")),
        "second_name": seal(
            ring, "perpetrators", bound, "second_name", _optional_text(perp.second_name, "prs_SecondName")
        ),
        "role_details": seal(
            ring, "perpetrators", bound, "role_details", _optional_text(perp.role_details, "per_RoleDetails", 20000)
        ),
    }


def perpetrator_view(ring: KeyRing, row: Any, hide: bool, case_uid: str) -> PerpetratorView:
    """A perpetrator as the actor may see it."""

    def open_(column: str) -> Any:
        raw = getattr(row, column)
        bound = child_uid(case_uid, row.uid)
        return HIDDEN if hide and raw is not None else unseal(ring, "perpetrators", bound, column, raw)

    return PerpetratorView(
        row.uid, open_("first_name"), open_("second_name"), decode_multi(row.role_in_process), open_("role_details")
    )


def support_plan_row(ring: KeyRing, case_id: int, case_uid: str, plan: SupportPlanInput) -> dict[str, Any]:
    """The database row of a checked support plan."""
    uid = new_uid()
    bound = child_uid(case_uid, uid)
    return {
        "uid": uid,
        "case_id": case_id,
        "type": check_choice("spl_Type", plan.type, "spl_Type"),
        "objectives": seal(
            ring, "support_plans", bound, "objectives", _optional_text(plan.objectives, "spl_Objectives", 20000)
        ),
        "action_plan": seal(
            ring, "support_plans", bound, "action_plan", _optional_text(plan.action_plan, "spl_ActionPlan", 20000)
        ),
        "planned_end_date": _optional_date(plan.planned_end_date, "spl_PlannedEndDate"),
        "actual_end_date": _optional_date(plan.actual_end_date, "spl_ActualEndDate"),
    }


def support_plan_view(ring: KeyRing, row: Any, hide: bool, case_uid: str) -> SupportPlanView:
    """A support plan as the actor may see it."""

    def open_(column: str) -> Any:
        raw = getattr(row, column)
        bound = child_uid(case_uid, row.uid)
        return HIDDEN if hide and raw is not None else unseal(ring, "support_plans", bound, column, raw)

    return SupportPlanView(
        row.uid, row.type, open_("objectives"), open_("action_plan"), row.planned_end_date, row.actual_end_date
    )


def changed_identifying(data: CaseInput) -> list[str]:
    """The identifying field names a new case holds (for the audit log), and ``hte_*``, ``per_*``,
    ``spl_*`` for its events, perpetrators and support plans.

    >>> changed_identifying(CaseInput({"prs_FirstName": "Mina", "cas_Status": "Active"}))
    ['prs_FirstName']
    """
    names = [n for n in data.fields if n in FIELDS and FIELDS[n].identifying]
    return names + added_children(data)


def added_children(data: CaseInput) -> list[str]:
    """``hte_*``, ``per_*``, ``spl_*`` for the events, perpetrators and support plans ``data`` adds.

    >>> added_children(CaseInput(events=[EventInput("Transit")]))
    ['hte_*']
    """
    names = []
    if data.events:
        names.append("hte_*")
    if data.perpetrators:
        names.append("per_*")
    if data.support_plans:
        names.append("spl_*")
    return names
