"""The case list: search by code or name words, filters, pages, and an exact total that is cheap to repeat.

The total of a page is exact. Counting 100,000 index entries on every page would cost more than the
page itself, so totals without a search are cached per process under the organisation's
``case_version``, which every change of a counted column (new cases, edits, consent) raises in the
same transaction: a cached total is used only while the version it was counted under is current.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true, union, update

from darkfigure.casestore import audit, records
from darkfigure.casestore.accounts import require
from darkfigure.casestore.crypto import KeyRing, blind_index, name_tokens
from darkfigure.casestore.models import case_exploitation, cases, organisations
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.storage import reading, writing
from darkfigure.casestore.types import PURPOSES, ROLES, Actor, Page
from darkfigure.errors import InputError

IDENTITY_ROLES = ("administrator", "caseworker")
_SUMMARY = (
    "code",
    "cas_status",
    "prs_gender",
    "registration_year",
    "age_broad",
    "vic_typeofexploitation",
    "prs_citizenship",
    "updated_at",
)
_CACHE_SIZE = 512


class Listing:
    """The case-list methods of :class:`darkfigure.casestore.service.CaseStore`."""

    engine: Any
    ring: KeyRing
    _totals: dict  # (organisation, analyst, filters) -> (case version, total)
    _totals_lock: threading.Lock

    def list_cases(
        self, actor: Actor, search: str | None = None, filters: dict | None = None, page: int = 1, per_page: int = 50
    ) -> Page:
        """A page of case summaries of the actor's organisation, newest first.

        ``search``: a case code (or its start), or, for administrators and caseworkers, name words
        matched through the blind index (every word must match a name token exactly, after
        normalisation). ``filters``: ``status``, ``gender``, ``type_of_exploitation``, ``year``,
        ``consent`` (a purpose that must be given). Analysts see only cases consented for statistics.
        """
        require(actor, *ROLES)
        page, per_page = max(1, whole(page, "page")), min(max(1, whole(per_page, "per_page")), 500)
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        where = [cases.c.organisation_id == actor.organisation_id, *_filters(actor.organisation_id, filters)]
        if actor.role == "analyst":
            where.append(cases.c.consent_statistics == true())
        search = search.strip() if search else ""
        tokens = self._search_tokens(actor, search)
        if tokens:  # audited before anything is read, in its own short write transaction
            with writing(self.engine) as conn:
                audit.append(
                    conn, self.ring.audit_key, actor.username, actor.organisation_id, "search_name", None, ("name",)
                )
        with reading(self.engine) as conn:
            if search:  # the matching ids once (a search finds few), counted and cut here
                where.append(_search(actor, search, tokens))
                found = conn.execute(select(cases.c.id).where(*where).order_by(cases.c.id.desc())).scalars().all()
                total, where = len(found), [cases.c.id.in_(found[(page - 1) * per_page : page * per_page])]
                start = 0
            else:
                total, start = self._total(conn, actor, filters), (page - 1) * per_page
            rows = conn.execute(
                select(*(cases.c[c] for c in _SUMMARY))
                .where(*where)
                .order_by(cases.c.id.desc())
                .offset(start)
                .limit(per_page)
            ).all()
        return Page([records.summary(r) for r in rows], total, page, per_page)

    def _search_tokens(self, actor: Actor, search: str) -> list[str]:
        """The blind-index tokens of the name words searched for (none for roles that may not search names)."""
        if not search or actor.role not in IDENTITY_ROLES:
            return []
        return sorted({org_index(self.ring, actor.organisation_id, t) for t in name_tokens(search)})

    def _total(self, conn: Connection, actor: Actor, filters: dict) -> int:
        """The exact number of the actor's cases passing ``filters``, from the cache while the organisation's
        case version is unchanged (read before and after counting, so a change in between is not cached)."""
        cache, lock = self._totals, self._totals_lock
        key = (actor.organisation_id, actor.role == "analyst", tuple(sorted((k, str(v)) for k, v in filters.items())))
        version = _case_version(conn, actor.organisation_id)
        with lock:
            hit = cache.get(key)
        if hit is not None and version is not None and hit[0] == version:
            return hit[1]
        total = conn.execute(_count(actor, filters)).scalar_one()
        if version is not None and _case_version(conn, actor.organisation_id) == version:
            with lock:
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[key] = (version, total)
        return total


def _count(actor: Actor, filters: dict) -> Any:
    """The count query of a filtered list: the exploitation filter alone is counted in its own index."""
    org = actor.organisation_id
    if set(filters) == {"type_of_exploitation"} and actor.role != "analyst":
        chosen = case_exploitation.c
        value = str(filters["type_of_exploitation"])
        return (
            select(func.count())
            .select_from(case_exploitation)
            .where(chosen.organisation_id == org, chosen.value == value)
        )
    where = [cases.c.organisation_id == org, *_filters(org, filters, counting=True)]
    if actor.role == "analyst":
        where.append(cases.c.consent_statistics == true())
    return select(func.count()).select_from(cases).where(*where)


def touch_cases(conn: Connection, organisation_id: int) -> None:
    """Raise the organisation's case version (call in every transaction that changes counted columns)."""
    conn.execute(
        update(organisations)
        .where(organisations.c.id == organisation_id)
        .values(case_version=organisations.c.case_version + 1)
    )


def _case_version(conn: Connection, organisation_id: int) -> int | None:
    return conn.execute(select(organisations.c.case_version).where(organisations.c.id == organisation_id)).scalar()


def _search(actor: Actor, text: str, tokens: list[str]) -> Any:
    code = text.upper()
    by_code = (  # a prefix as a range, so the unique index on code serves it
        and_(cases.c.code >= code, cases.c.code < code + "~")
        if re.fullmatch(r"[0-9A-Z]{1,4}(-[0-9A-Z]{0,4})?", code)
        else None
    )
    if not tokens:
        return by_code if by_code is not None else cases.c.id.is_(None)
    by_name = cases.c.id.in_(_with_every_token(tokens))
    if actor.role != "administrator":  # a name must not reveal a case whose identity is hidden from them
        by_name = and_(by_name, or_(cases.c.consent_case_work.is_(None), cases.c.consent_case_work == true()))
    if by_code is None:
        return by_name
    # a union of ids, not an OR, keeps both sides on their indexes
    return cases.c.id.in_(union(select(cases.c.id).where(by_code), select(cases.c.id).where(by_name)))


def _with_every_token(tokens: list[str]) -> Any:
    """The ids of the cases with every token: a join along the (token, case) index, one probe per case of
    the first token (grouping all entries of all tokens and counting them cost three times as much)."""
    first, *others = (name_tokens_table.alias(f"t{i}") for i in range(len(tokens)))
    query = select(first.c.case_id).where(first.c.token == tokens[0])
    for other, token in zip(others, tokens[1:], strict=True):
        query = query.join(other, and_(other.c.token == token, other.c.case_id == first.c.case_id))
    return query


def _filters(organisation_id: int, filters: dict, counting: bool = False) -> list[Any]:
    """Conditions of the filters; ``counting``: in the form that counts fastest (not that pages fastest)."""
    where = []
    for key, value in filters.items():
        if key == "status":
            where.append(cases.c.cas_status == str(value))
        elif key == "gender":
            where.append(cases.c.prs_gender == str(value))
        elif key == "type_of_exploitation":
            chosen = case_exploitation.c
            if counting:  # the set of ids from the (organisation, value) index, probed per case
                ids = select(chosen.case_id).where(
                    chosen.organisation_id == organisation_id, chosen.value == str(value)
                )
                where.append(cases.c.id.in_(ids))
            else:  # EXISTS per case along the (organisation, id) index: a page stops after its rows
                where.append(
                    select(chosen.case_id).where(chosen.case_id == cases.c.id, chosen.value == str(value)).exists()
                )
        elif key == "year":
            where.append(cases.c.registration_year == whole(value, "year"))
        elif key == "consent" and value in PURPOSES:
            where.append(cases.c[f"consent_{value}"] == true())
        else:
            raise InputError(f"unknown filter {key}={value!r}; use status, gender, type_of_exploitation, year, consent")
    return where


def exploitation_rows(organisation_id: int, case_id: int, values: Any) -> list[dict[str, Any]]:
    """The ``case_exploitation`` rows of one case's checked ``vic_TypeOfExploitation`` values.

    >>> exploitation_rows(1, 7, ("ForcedLabour",))
    [{'case_id': 7, 'value': 'ForcedLabour', 'organisation_id': 1}]
    """
    return [{"case_id": case_id, "value": v, "organisation_id": organisation_id} for v in sorted(set(values or ()))]


def whole(value: Any, name: str) -> int:
    """``value`` as an int, or InputError naming ``name``.

    >>> whole("3", "page")
    3
    """
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number", column=name) from None


def org_index(ring: KeyRing, organisation_id: int, word: str) -> str:
    """The blind index of a name word within one organisation: the same name in two organisations gives
    different tokens, so the database does not link people across organisations."""
    return blind_index(ring, f"{int(organisation_id)}\x00{word}")
