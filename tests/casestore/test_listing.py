"""The case list's indexes and cached totals, migration 0002, unknown codes and the first administrator."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, CaseNotFound, KeyRing, open_store
from darkfigure.casestore.listing import touch_cases
from darkfigure.casestore.models import case_exploitation
from darkfigure.casestore.storage import MIGRATIONS, make_engine, reading
from darkfigure.errors import AccessDenied, InputError


def _case(store, actor, exploitation=None, gender=None, statistics=True):
    fields = {"prs_FirstName": "Mina"}
    if exploitation:
        fields["vic_TypeOfExploitation"] = exploitation
    if gender:
        fields["prs_Gender"] = gender
    return store.create_case(actor, CaseInput(fields, {"statistics": statistics}))


def test_exploitation_and_gender_filters_count_exactly_through_edits(store, people):
    kim, ana, lee = people["kim"], people["ana"], people["lee"]
    a = _case(store, kim, "ForcedLabour;SexualExploitation", "Feminine")
    b = _case(store, kim, "ForcedLabour", "Masculine", statistics=False)
    _case(store, kim, "ForcedMarriage", "Feminine")
    _case(store, lee, "ForcedLabour", "Feminine")  # another organisation: never counted
    labour = {"type_of_exploitation": "ForcedLabour"}
    # hand-counted: cases a and b of kim's organisation name ForcedLabour; of them only a is consented
    assert store.list_cases(kim, filters=labour).total == 2
    assert {s.code for s in store.list_cases(kim, filters=labour).items} == {a, b}
    assert store.list_cases(ana, filters=labour).total == 1
    assert store.list_cases(kim, filters={**labour, "gender": "Feminine"}).total == 1
    assert store.list_cases(kim, filters={"gender": "Feminine"}).total == 2
    assert store.list_cases(kim).total == 3
    # an edit changes the cached totals at once: b leaves forced labour, a new case arrives
    store.update_case(kim, b, CaseInput({"vic_TypeOfExploitation": "Servitude"}))
    _case(store, kim, "ForcedLabour", "Masculine")
    assert store.list_cases(kim, filters=labour).total == 2
    assert store.list_cases(kim, filters={"type_of_exploitation": "Servitude"}).items[0].code == b
    assert store.list_cases(kim).total == 4
    store.record_consent(kim, b, "statistics", True)
    assert store.list_cases(ana).total == 4
    assert store.list_cases(kim, filters={"consent": "statistics"}).total == 4


def test_pages_of_a_filter_and_of_a_search_are_cut_from_the_exact_total(store, people):
    kim = people["kim"]
    codes = [_case(store, kim, "ForcedLabour" if i % 2 else "Servitude") for i in range(7)]
    labour = [c for i, c in enumerate(codes) if i % 2][::-1]  # newest first
    pages = [
        store.list_cases(kim, filters={"type_of_exploitation": "ForcedLabour"}, page=p, per_page=2) for p in (1, 2)
    ]
    assert [s.code for p in pages for s in p.items] == labour[:4]
    assert pages[1].total == 3
    found = store.list_cases(kim, search="Mina", page=3, per_page=3)
    assert (found.total, [s.code for s in found.items]) == (7, [codes[0]])


def test_unknown_code_raises_case_not_found(store, people):
    with pytest.raises(CaseNotFound, match="no case with code"):
        store.get_case(people["kim"], "ZZZZ-ZZZZ")
    assert issubclass(CaseNotFound, InputError)


def test_migration_0002_fills_the_exploitation_rows_of_existing_cases(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.exec_driver_sql("INSERT INTO organisations (id, name, created_at) VALUES (4, 'S', '2026-01-01')")
        for case_id, text in ((1, ";ForcedLabour;Servitude;"), (2, None), (3, ";ForcedMarriage;")):
            conn.exec_driver_sql(
                "INSERT INTO cases (id, uid, code, organisation_id, created_at, updated_at, vic_typeofexploitation) "
                "VALUES (?, ?, ?, 4, '2026-01-01', '2026-01-01', ?)",
                (case_id, f"u{case_id}", f"C{case_id}", text),
            )
    engine.dispose()
    store = open_store(url, KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    with reading(store.engine) as conn:
        rows = conn.execute(select(case_exploitation).order_by("case_id", "value")).all()
    assert [tuple(r) for r in rows] == [(1, "ForcedLabour", 4), (1, "Servitude", 4), (3, "ForcedMarriage", 4)]
    with pytest.raises(Exception, match="UNIQUE|unique"), store.engine.begin() as conn:
        conn.execute(insert(case_exploitation).values(case_id=1, value="Servitude", organisation_id=4))
    store.close()


def test_first_administrator_once_even_when_two_race(store):
    results, barrier = [], threading.Barrier(2)

    def attempt(name):
        barrier.wait()
        try:
            results.append(store.create_first_administrator("Shelter", name, "correct horse 12"))
        except AccessDenied as err:
            results.append(err)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("ada", "bea")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["AccessDenied", "tuple"]
    assert len(store.users(store.system_actor("Shelter"))) == 1
    with pytest.raises(AccessDenied, match="exists already"):
        store.create_first_administrator("Other", "cid", "correct horse 12")


def test_readers_do_not_wait_for_a_writer(store, people):
    kim, ana = people["kim"], people["ana"]
    code = _case(store, kim, "ForcedLabour")
    with store.engine.begin() as writer:  # holds SQLite's write lock (PostgreSQL: the row's lock)
        touch_cases(writer, kim.organisation_id)
        # a read taking the write lock too would wait here until the busy timeout and fail
        assert store.list_cases(kim, filters={"type_of_exploitation": "ForcedLabour"}).total == 1
        assert store.get_case(ana, code).code == code
        assert store.list_cases(ana, search=code[:4]).total == 1  # an analyst's search writes no audit entry


def test_every_way_to_a_page_gives_the_same_rows(store, people):
    # the plain list and a search read on the driver, a filtered list through SQLAlchemy's typed rows:
    # the same case must come back the same (multi-selects decoded, the time a datetime)
    kim, ana = people["kim"], people["ana"]
    code = _case(store, kim, "ForcedLabour;SexualExploitation", "Feminine")
    plain = store.list_cases(kim).items[0]
    searched = store.list_cases(kim, search="mina").items[0]
    filtered = store.list_cases(kim, filters={"gender": "Feminine"}).items[0]
    by_code = store.list_cases(kim, search=code).items[0]
    analyst = store.list_cases(ana).items[0]
    assert plain == searched == filtered == by_code == analyst
    assert plain.code == code and plain.types_of_exploitation == ("ForcedLabour", "SexualExploitation")
    assert plain.updated_at.year >= 2026 and plain.gender == "Feminine"


def test_bad_filters_are_refused_with_their_name(store, people):
    kim = people["kim"]
    for filters, message in (({"colour": "red"}, "unknown filter colour"), ({"consent": "gossip"}, "unknown filter"),
                             ({"year": "20x4"}, "year must be a whole number")):
        with pytest.raises(InputError, match=message):
            store.list_cases(kim, filters=filters)
        with pytest.raises(InputError, match=message):
            store.list_cases(kim, search="mina", filters=filters)
