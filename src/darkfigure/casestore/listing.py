"""The case list: search by code or name words, filters, pages, and an exact total that is cheap to repeat.

The total of a page is exact. Counting 100,000 index entries on every page would cost more than the
page itself, so totals without a search are cached per process under the organisation's
``case_version``, which every change of a counted column (new cases, edits, consent) raises in the
same transaction: a cached total is used only while the version it was counted under is current.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, bindparam, false, func, select, true, union, update

from darkfigure.casestore import audit, records
from darkfigure.casestore.accounts import require
from darkfigure.casestore.crypto import KeyRing, blind_index, name_tokens
from darkfigure.casestore.fields import PICKLISTS
from darkfigure.casestore.models import case_exploitation, cases, organisations
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.storage import Prepared, reading, writing
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
_SUMMARY_COLUMNS = tuple(cases.c[c] for c in _SUMMARY)
_CACHE_SIZE = 512
_DIGIT = re.compile(r"\d")
# the values each coded filter takes (checked before any query: a misspelt one is refused, not "0 cases")
FILTER_VALUES = {
    "status": tuple(PICKLISTS["cas_Status"].options),
    "gender": tuple(PICKLISTS["prs_Gender"].options),
    "type_of_exploitation": tuple(PICKLISTS["vic_TypeOfExploitation"].options),
    "consent": PURPOSES,
}
_PAIR = "\x1f"  # joins two name words into one indexed pair (never inside a word: words split at non-letters)


class Listing:
    """The case-list methods of :class:`darkfigure.casestore.service.CaseStore`."""

    engine: Any
    ring: KeyRing
    _totals: dict  # (organisation, analyst, filters) -> (case version, total)
    _totals_lock: threading.Lock

    def list_cases(
        self, actor: Actor, search: str | None = None, filters: dict | None = None, page: int = 1, per_page: int = 50,
        names: bool = True,
    ) -> Page:
        """A page of case summaries of the actor's organisation, newest first.

        ``search``: a case code (or its start), or, for administrators and caseworkers and unless
        ``names=False`` (a search that came in an address), name words matched through the blind index
        (every word must match a name token exactly, after normalisation). ``filters``: ``status``,
        ``gender``, ``type_of_exploitation``, ``year``, ``consent`` (a purpose that must be given); an
        unknown value of one is refused (InputError naming the filter and its values). A ``page`` past
        the last gives the last page (its number in the Page). Analysts see only cases consented for
        statistics.
        """
        require(actor, *ROLES)
        page, per_page = whole(page, "page"), min(max(1, whole(per_page, "per_page")), 500)
        if page < 1:
            raise InputError(f"page must be 1 or more; got {page}", column="page")
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        shape, values = _filter_shape(filters)
        search = search.strip() if search else ""
        values["org"] = actor.organisation_id
        if search:
            return self._search_page(actor, search, shape, values, page, per_page, names)
        # every list page, filtered or not, runs on the driver: one statement per shape of filters
        with reading(self.engine) as conn:
            total = self._total(conn, actor, shape, values)
            page = last_page(page, total, per_page)
            bounds = {**values, "limit": per_page, "offset": (page - 1) * per_page}
            rows = _list_page(shape, actor.role == "analyst").run(conn, bounds).fetchall()
        return Page([records.summary_of(r) for r in rows], total, page, per_page)

    def _search_page(
        self, actor: Actor, search: str, shape: tuple[str, ...], filtered: dict, page: int, per_page: int,
        names: bool = True,
    ) -> Page:
        """A page of the cases a search finds: the matching ids once (a search finds few), counted and cut
        here. A name search is audited before anything is read, in its own short write transaction.
        ``shape`` and ``filtered``: the filters (:func:`_filter_shape`) and their values, with ``org``."""
        tokens = self._search_tokens(actor, search) if names else []
        if tokens:
            with writing(self.engine) as conn:
                audit.append(
                    conn, self.ring.audit_key, actor.username, actor.organisation_id, "search_name", None, ("name",)
                )
        code = _code_prefix(search)
        statement = _search_ids(len(tokens), code is not None, actor.role, bool(shape))
        values = {**filtered, **{f"t{i}": t for i, t in enumerate(tokens)}}
        if code is not None:
            values.update(code_from=code, code_to=f"{code}~")
        with reading(self.engine) as conn:
            if shape:
                found = conn.execute(statement.where(*_conditions(shape)), values).scalars().all()
            else:  # every search without filters: on the driver (a few hundred ids)
                found = [row[0] for row in _prepared(statement).run(conn, values).fetchall()]
            page = last_page(page, len(found), per_page)
            summaries = self._summaries(conn, actor, found[(page - 1) * per_page : page * per_page])
        return Page(summaries, len(found), page, per_page)

    @staticmethod
    def _summaries(conn: Connection, actor: Actor, ids: list[int]) -> list:
        if not ids:
            return []
        values = {"org": actor.organisation_id, **{f"i{k}": case_id for k, case_id in enumerate(ids)}}
        return [records.summary_of(r) for r in _by_ids(len(ids)).run(conn, values).fetchall()]

    def _search_tokens(self, actor: Actor, search: str) -> list[str]:
        """The blind-index tokens of the name words searched for (none for roles that may not search names)."""
        if not search or actor.role not in IDENTITY_ROLES or _DIGIT.search(search):
            return []  # a digit: a case code, never a name (no audit entry, no name index probed)
        return search_tokens(self.ring, actor.organisation_id, name_tokens(search, split_hangul=False))

    def _total(self, conn: Connection, actor: Actor, shape: tuple[str, ...], values: dict) -> int:
        """The exact number of the actor's cases passing the filters (``shape``, ``values`` with ``org``),
        from the cache while the organisation's case version is unchanged (read before and after
        counting, so a change in between is not cached)."""
        cache, lock = self._totals, self._totals_lock
        key = (actor.role == "analyst", shape, tuple(sorted(values.items())))
        version = _case_version(conn, actor.organisation_id)
        with lock:
            hit = cache.get(key)
        if hit is not None and version is not None and hit[0] == version:
            return hit[1]
        total = conn.execute(_count(shape, actor.role == "analyst"), values).scalar_one()
        if version is not None and _case_version(conn, actor.organisation_id) == version:
            with lock:
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[key] = (version, total)
        return total


@functools.lru_cache(maxsize=128)
def _count(shape: tuple[str, ...], analyst: bool) -> Any:
    """The count query of a filtered list (values bound): the exploitation filter alone is counted in its
    own index."""
    if shape == ("type_of_exploitation",) and not analyst:
        chosen = case_exploitation.c
        where = [chosen.organisation_id == bindparam("org"), chosen.value == bindparam("type_of_exploitation")]
        return select(func.count()).select_from(case_exploitation).where(*where)
    where = [cases.c.organisation_id == bindparam("org"), *_conditions(shape, counting=True)]
    if analyst:
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


def _code_prefix(text: str) -> str | None:
    """The search as the start of a case code (upper case), or None when it cannot be one."""
    code = text.upper()
    return code if re.fullmatch(r"[0-9A-Z]{1,4}(-[0-9A-Z]{0,4})?", code) else None


@functools.lru_cache(maxsize=64)
def _search_ids(n_tokens: int, by_code: bool, role: str, filtered: bool = False) -> Any:
    """The statement giving the ids a search finds, newest first, made once per shape (building it cost
    more than running it); the organisation, code range and tokens are bound when it runs. ``filtered``:
    the caller adds conditions on the cases' columns (then every found case is checked in its row)."""
    where = [cases.c.organisation_id == bindparam("org")]
    if role == "analyst":
        where.append(cases.c.consent_statistics == true())
    code = and_(cases.c.code >= bindparam("code_from"), cases.c.code < bindparam("code_to")) if by_code else None
    if not n_tokens:  # the ids from the code index first (as a bare range SQLite would walk the id index)
        where.append(cases.c.id.in_(select(cases.c.id).where(code)) if by_code else cases.c.id.is_(None))
        return select(cases.c.id).where(*where).order_by(cases.c.id.desc())
    by_name = _with_every_token([bindparam(f"t{i}") for i in range(n_tokens)], hidden=role != "administrator")
    if not by_code and not filtered:  # the common search: one range of the blind index, no case row read
        return by_name.order_by(by_name.selected_columns[0].desc())
    # a union of ids, not an OR, keeps both sides on their indexes
    where.append(cases.c.id.in_(union(select(cases.c.id).where(code), by_name)) if by_code else cases.c.id.in_(by_name))
    return select(cases.c.id).where(*where).order_by(cases.c.id.desc())


def _filter_shape(filters: dict) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The shape of the filters (which ones; the consent purpose names a column) and their values to
    bind; unknown filters and bad values raise (InputError naming the filter).

    >>> _filter_shape({"status": "Active", "consent": "linkage", "year": "2024"})
    (('consent:linkage', 'status', 'year'), {'status': 'Active', 'year': 2024})
    """
    shape, values = [], {}
    for key, value in filters.items():
        if key == "consent":
            shape.append(f"consent:{filter_value(key, value)}")
        elif key in FILTER_VALUES:
            values[key] = filter_value(key, value)
            shape.append(key)
        elif key == "year":
            shape.append(key)
            values[key] = whole(value, "year")
        else:
            raise InputError(f"unknown filter {key}={value!r}; use status, gender, type_of_exploitation, year, consent")
    return tuple(sorted(shape)), values


def filter_value(name: str, value: Any) -> str:
    """``value`` if it is one of the values filter ``name`` takes (system names, as the list's choices
    send them), else InputError naming the filter and its values.

    >>> filter_value("status", "Closed")
    'Closed'
    >>> try:
    ...     filter_value("gender", "Robot")
    ... except InputError as err:
    ...     print(err.column, "|", err.message[:54])
    gender | unknown filter value gender='Robot'; the gender filter
    """
    allowed = FILTER_VALUES[name]
    if value in allowed:
        return value
    raise InputError(
        f"unknown filter value {name}={str(value)[:60]!r}; the {name} filter takes one of {', '.join(allowed)}",
        column=name,
    )


def last_page(page: int, total: int, per_page: int) -> int:
    """``page``, or the last page when it lies past the last (a page number kept in an old address).

    >>> last_page(99999, 120, 50), last_page(2, 120, 50), last_page(7, 0, 50)
    (3, 2, 1)
    """
    return min(page, max(1, -(-total // per_page)))


@functools.lru_cache(maxsize=128)
def _list_page(shape: tuple[str, ...], analyst: bool) -> Prepared:
    """A page of the organisation's cases with the filters of ``shape``, newest first (analysts: those
    consented for statistics); the organisation, the filters' values, limit and offset bound."""
    where = [cases.c.organisation_id == bindparam("org"), *_conditions(shape)]
    if analyst:
        where.append(cases.c.consent_statistics == true())
    page = select(*_SUMMARY_COLUMNS).where(*where).order_by(cases.c.id.desc())
    return Prepared(page.limit(bindparam("limit")).offset(bindparam("offset")))


@functools.lru_cache(maxsize=64)
def _by_ids(n: int) -> Prepared:
    """The summary rows of ``n`` chosen cases (bound ``i0`` ...), newest first, one statement per count
    (an expanding list would be compiled on every page). The organisation is checked again: ids found
    through the blind index carry no organisation."""
    chosen = cases.c.id.in_([bindparam(f"i{k}") for k in range(n)])
    return Prepared(
        select(*_SUMMARY_COLUMNS).where(chosen, cases.c.organisation_id == bindparam("org")).order_by(cases.c.id.desc())
    )


@functools.lru_cache(maxsize=64)
def _prepared(statement: Any) -> Prepared:
    return Prepared(statement)


def _with_every_token(tokens: list[Any], hidden: bool) -> Any:
    """The ids of the cases with every token: a join along the (token, case) index, one probe per case of
    the first token (grouping all entries of all tokens and counting them cost three times as much).
    The tokens are keyed by organisation, so they find only the organisation's cases. ``hidden``: leave out
    the cases whose identity is hidden (case-work consent refused: a name must not reveal them), taken
    from the (organisation, case-work consent, id) index, few in number (migration 0007)."""
    first, *others = (name_tokens_table.alias(f"t{i}") for i in range(len(tokens)))
    query = select(first.c.case_id).where(first.c.token == tokens[0])
    for other, token in zip(others, tokens[1:], strict=True):
        query = query.join(other, and_(other.c.token == token, other.c.case_id == first.c.case_id))
    if hidden:
        refused = select(cases.c.id).where(
            cases.c.organisation_id == bindparam("org"), cases.c.consent_case_work == false()
        )
        query = query.where(first.c.case_id.not_in(refused))
    return query


def _conditions(shape: tuple[str, ...], counting: bool = False) -> list[Any]:
    """Conditions of the filters of ``shape`` (:func:`_filter_shape`), their values bound by the filter's
    name (and ``org``); ``counting``: in the form that counts fastest (not that pages fastest)."""
    where = []
    for key in shape:
        if key == "status":
            where.append(cases.c.cas_status == bindparam("status"))
        elif key == "gender":
            where.append(cases.c.prs_gender == bindparam("gender"))
        elif key == "type_of_exploitation":
            chosen = case_exploitation.c
            value = chosen.value == bindparam("type_of_exploitation")
            if counting:  # the set of ids from the (organisation, value) index, probed per case
                ids = select(chosen.case_id).where(chosen.organisation_id == bindparam("org"), value)
                where.append(cases.c.id.in_(ids))
            else:  # EXISTS per case along the (organisation, id) index: a page stops after its rows
                where.append(select(chosen.case_id).where(chosen.case_id == cases.c.id, value).exists())
        elif key == "year":
            where.append(cases.c.registration_year == bindparam("year"))
        else:
            where.append(cases.c[f"consent_{key.removeprefix('consent:')}"] == true())
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
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a whole number", column=name) from None


def index_tokens(ring: KeyRing, organisation_id: int, words: Iterable[str]) -> list[str]:
    """The blind-index tokens a case is found by: each name word, and each pair of its words. A search
    of two words then reads the few cases with both from one range of the index, instead of probing
    once for every case that has the first (Kim: a fifth of a Korean organisation's cases).

    >>> ring = KeyRing.generate()
    >>> tokens = index_tokens(ring, 1, ["mina", "kim", "mina"])
    >>> len(tokens), set(search_tokens(ring, 1, ["kim", "mina"])) <= set(tokens)
    (3, True)
    """
    unique = sorted(set(words))
    pairs = [_PAIR.join(pair) for pair in itertools.combinations(unique, 2)]
    return sorted({org_index(ring, organisation_id, w) for w in (*unique, *pairs)})


def search_tokens(ring: KeyRing, organisation_id: int, words: Iterable[str]) -> list[str]:
    """The tokens a case must all have to match a search of ``words``: words taken two at a time as pairs
    (an odd one out alone), so that the first token is as selective as a pair of words.

    >>> ring = KeyRing.generate()
    >>> len(search_tokens(ring, 1, ["kim", "mina", "jo"])), len(search_tokens(ring, 1, ["kim"]))
    (2, 1)
    """
    unique = sorted(set(words))
    grouped = [_PAIR.join(unique[i : i + 2]) for i in range(0, len(unique), 2)]
    return [org_index(ring, organisation_id, w) for w in grouped]


def org_index(ring: KeyRing, organisation_id: int, word: str) -> str:
    """The blind index of a name word within one organisation: the same name in two organisations gives
    different tokens, so the database does not link people across organisations."""
    return blind_index(ring, f"{int(organisation_id)}\x00{word}")
