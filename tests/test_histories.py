"""CaptureHistories: the three input formats, validation messages, and the table operations.

Expected tables are worked by hand from the tiny data below, or recomputed from the reference CSV
files with plain pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.histories import MAX_LISTS, CaptureHistories, pattern_matrix

# Seven entities on lists A, B, C (entity 2 is seen twice by A in the long format):
#   1: A   2: A   3: B   4: A,B   5: A,C   6: C   7: A,B,C
# so by pattern A 2, B 1, AB 1, C 1, AC 1, BC 0, ABC 1 (n = 7).
HAND_PATTERNS = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1]]
HAND_COUNTS = [2, 1, 1, 1, 1, 1]

AGGREGATED_CSV = """A,B,C,count
1,0,0,2
0,1,0,1
1,1,0,1
0,0,1,1
1,0,1,1
0,1,1,0
1,1,1,1
0,0,0,0
"""

ENTITY_CSV = """entity_id,A,B,C
1,1,0,0
2,1,0,0
3,0,1,0
4,1,1,0
5,1,0,1
6,0,0,1
7,1,1,1
"""

LONG_CSV = """entity_id,list
1,A
2,A
2,A
3,B
4,A
4,B
5,C
5,A
6,C
7,B
7,C
7,A
"""


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def hand() -> CaptureHistories:
    return CaptureHistories.from_counts(HAND_PATTERNS, HAND_COUNTS, ["A", "B", "C"])


# ------------------------------------------------------------------ three formats, one table
def test_hand_table_cells_by_bit_mask(hand: CaptureHistories) -> None:
    # cell mask: A = bit 0, B = bit 1, C = bit 2
    assert hand.cells.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert hand.counts.tolist() == [2, 1, 1, 1, 1, 0, 1]
    assert hand.n_observed == 7
    assert hand.patterns.tolist() == pattern_matrix(3).tolist()


def test_three_formats_in_files_give_the_same_table(tmp_path: Path, hand: CaptureHistories) -> None:
    aggregated = CaptureHistories.read_csv(write(tmp_path, AGGREGATED_CSV, "agg.csv"))
    entities = CaptureHistories.read_csv(write(tmp_path, ENTITY_CSV, "ent.csv"))
    long = CaptureHistories.read_csv(write(tmp_path, LONG_CSV, "long.csv"))
    assert aggregated == hand
    assert entities == hand
    assert long == hand


def test_three_formats_from_frames_give_the_same_table(hand: CaptureHistories) -> None:
    aggregated = pd.DataFrame(
        {"A": [1, 0, 1, 0, 1, 1, 1], "B": [0, 1, 1, 0, 0, 1, 0], "C": [0, 0, 0, 1, 1, 1, 0],
         "count": [1, 1, 1, 1, 1, 1, 1]}
    )  # pattern A split over two rows (1 + 1): repeated patterns add up
    entities = pd.DataFrame(
        {"name": list("pqrstuv"), "A": [1, 1, 0, 1, 1, 0, 1], "B": [0, 0, 1, 1, 0, 0, 1],
         "C": [0, 0, 0, 0, 1, 1, 1]}
    )
    long = pd.DataFrame({"who": [1, 2, 3, 4, 4, 5, 5, 6, 7, 7, 7], "source": list("AABABACCABC")})
    assert CaptureHistories.from_frame(aggregated) == hand
    assert CaptureHistories.from_entities(entities, lists=["A", "B", "C"]) == hand
    assert CaptureHistories.from_long(long, entity="who", list_column="source") == hand


def test_entities_on_no_list_are_left_out() -> None:
    frame = pd.DataFrame({"A": [1, 0, 0], "B": [1, 1, 0], "C": [0, 0, 1]})
    h = CaptureHistories.from_entities(frame, lists=["A", "B"])
    assert h.n_observed == 2 and h.count([1, 1]) == 1 and h.count([0, 1]) == 1


def test_long_format_orders_lists_by_name_and_strips_spaces() -> None:
    frame = pd.DataFrame({"entity_id": [1, 2, 2], "list": ["NG ", "LA", "NG"]})
    h = CaptureHistories.from_long(frame)
    assert h.lists == ("LA", "NG")
    assert h.count([0, 1]) == 1 and h.count([1, 1]) == 1


def test_blank_rows_are_skipped(tmp_path: Path, hand: CaptureHistories) -> None:
    text = AGGREGATED_CSV.replace("0,1,0,1\n", "0,1,0,1\n\n,,,\n")
    assert CaptureHistories.read_csv(write(tmp_path, text)) == hand


def test_zero_count_for_the_all_zero_pattern_is_allowed() -> None:
    frame = pd.DataFrame({"A": [0, 1, 0], "B": [0, 0, 1], "count": [0, 3, 4]})
    assert CaptureHistories.from_frame(frame).n_observed == 7


# ------------------------------------------------------------------ validation, with locations
def located(path: Path, row: int | None = None, column: str | None = None) -> str:
    where = [str(path)] + ([f"row {row}"] if row is not None else []) + (
        [f"column {column}"] if column is not None else []
    )
    return ", ".join(where) + ": "


BAD_AGGREGATED = [
    # (description, csv text, row, column, words in the message)
    ("value 2", "A,B,count\n1,0,3\n1,2,1\n", 3, "B", "capture values must be 0 or 1; got 2"),
    ("text value", "A,B,count\n1,0,3\n1,yes,1\n", 3, "B", "expected a number; got 'yes'"),
    ("all-zero with cases", "A,B,count\n1,0,3\n0,1,1\n0,0,5\n", 4, "count", "all-zero pattern"),
    ("negative count", "A,B,count\n1,0,3\n0,1,-3\n", 3, "count", "cannot be negative; got -3"),
    ("fractional count", "A,B,count\n1,0,2.5\n0,1,1\n", 2, "count", "whole numbers; got 2.5"),
    ("missing count", "A,B,count\n1,0,3\n0,1,\n1,1,2\n", 3, "count", "value is missing"),
    ("missing list value", "A,B,count\n1,0,3\n,1,4\n", 3, "A", "value is missing"),
    ("list with no cases", "A,B,C,count\n1,0,0,3\n0,1,0,2\n", None, "C", "no cases"),
    ("duplicate names", "A,B,A,count\n1,0,0,3\n0,1,1,2\n", 1, "A", "'A' appears twice"),
    ("one list", "A,count\n1,3\n", None, None, "at least 2 lists; got 1 (A)"),
    ("blank header name", "A,,count\n1,0,3\n", 1, None, "column 2 has no name"),
    ("header only", "A,B,count\n", None, None, "no data rows"),
]


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [case[1:] for case in BAD_AGGREGATED],
    ids=[case[0] for case in BAD_AGGREGATED],
)
def test_bad_aggregated_file_is_located(tmp_path: Path, text: str, row, column, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(path)
    err = caught.value
    assert (err.source, err.row, err.column) == (str(path), row, column)
    assert str(err).startswith(located(path, row, column))
    assert words in str(err)


def test_row_numbers_count_blank_rows_as_a_spreadsheet_does(tmp_path: Path) -> None:
    path = write(tmp_path, "A,B,count\n1,0,3\n\n\n0,1,-1\n")
    with pytest.raises(InputError, match=r"row 5, column count: counts cannot be negative"):
        CaptureHistories.read_csv(path)


def test_bad_entity_and_long_files_are_located(tmp_path: Path) -> None:
    entity = write(tmp_path, "entity_id,A,B\n1,1,0\n2,0,3\n", "ent.csv")
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(entity)
    assert str(caught.value) == f"{entity}, row 3, column B: capture values must be 0 or 1; got 3"
    long = write(tmp_path, "entity_id,list\n1,A\n2,\n3,B\n", "long.csv")
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(long)
    assert str(caught.value) == f"{long}, row 3, column list: value is missing"


def test_no_count_column_via_from_frame() -> None:
    frame = pd.DataFrame({"A": [1, 0], "B": [0, 1], "n": [3, 4]})
    with pytest.raises(InputError, match=r"no count column 'count'.*columns found: A, B, n"):
        CaptureHistories.from_frame(frame, source="mine.csv")
    assert CaptureHistories.from_frame(frame, count_column="n").n_observed == 7


def test_count_column_of_another_name_is_named_in_errors() -> None:
    frame = pd.DataFrame({"A": [1, 0], "B": [0, 1], "n": [3, -4]})
    with pytest.raises(InputError) as caught:
        CaptureHistories.from_frame(frame, count_column="n", source="mine.csv")
    assert str(caught.value) == "mine.csv, row 3, column n: counts cannot be negative; got -4"


def test_more_lists_than_supported(tmp_path: Path) -> None:
    t = MAX_LISTS + 1
    header = ",".join(f"L{j}" for j in range(t)) + ",count\n"
    path = write(tmp_path, header + ",".join(["1"] * t) + ",1\n")
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(path)
    assert str(caught.value).startswith(f"{path}: at most {MAX_LISTS} lists are supported; got {t}")
    with pytest.raises(InputError, match="at most"):
        CaptureHistories.from_counts(np.ones((1, t)), [1])


def test_missing_and_empty_files(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(missing)
    assert str(caught.value).startswith(f"{missing}: file not found")
    empty = write(tmp_path, "", "empty.csv")
    with pytest.raises(InputError) as caught:
        CaptureHistories.read_csv(empty)
    assert str(caught.value).startswith(f"{empty}: the file is empty")
    with pytest.raises(InputError, match="folder"):
        CaptureHistories.read_csv(tmp_path)
    semicolons = write(tmp_path, "A;B;count\n1;0;3\n", "excel.csv")
    with pytest.raises(InputError, match="comma-separated"):
        CaptureHistories.read_csv(semicolons)


def test_windows_line_endings_and_a_byte_order_mark(tmp_path: Path, hand: CaptureHistories) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + AGGREGATED_CSV.replace("\n", "\r\n").encode())
    assert CaptureHistories.read_csv(path) == hand


def test_from_counts_checks_its_arguments() -> None:
    with pytest.raises(InputError, match="2 patterns but 3 counts"):
        CaptureHistories.from_counts([[1, 0], [0, 1]], [1, 2, 3])
    with pytest.raises(InputError, match="2 pattern columns but 3 list names"):
        CaptureHistories.from_counts([[1, 0], [0, 1]], [1, 2], ["A", "B", "C"])
    with pytest.raises(InputError, match="list names must differ; A appears twice"):
        CaptureHistories.from_counts([[1, 0], [0, 1]], [1, 2], ["A", "A"])
    with pytest.raises(InputError, match="table of 0/1 values"):
        CaptureHistories.from_counts([1, 0, 1], [1, 2, 3])


# ------------------------------------------------------------------ views
def test_uk6_list_sizes_and_overlap_match_pandas(uk6: CaptureHistories, reference_dir: Path) -> None:
    raw = pd.read_csv(reference_dir / "uk2013_6lists.csv")
    lists = ["LA", "NG", "PF", "GO", "GP", "NCA"]
    assert uk6.lists == tuple(lists)
    assert uk6.n_observed == raw["count"].sum() == 2744  # REFERENCE.md: n observed 2,744
    assert uk6.list_sizes() == {c: int((raw[c] * raw["count"]).sum()) for c in lists}
    overlap = uk6.overlap()
    for a in lists:
        for b in lists:
            assert overlap.loc[a, b] == int((raw[a] * raw[b] * raw["count"]).sum())


def test_uk6_sizes_by_hand(uk6: CaptureHistories) -> None:
    # NCA: rows of uk2013_6lists.csv with NCA = 1: 57 + 3 + 31 + 6 + 1 + 3 + 1
    assert uk6.list_sizes()["NCA"] == 102
    # PF and NCA together: 31 + 3 + 1
    assert uk6.margin(["PF", "NCA"]) == 35 == uk6.overlap().loc["PF", "NCA"]


def test_margin_count_and_overlap_by_hand(hand: CaptureHistories) -> None:
    assert hand.margin(["A", "B"]) == 2  # AB 1 + ABC 1
    assert hand.margin([0, 2]) == 2  # AC 1 + ABC 1
    assert hand.margin(["A"]) == 5
    assert hand.margin([]) == 7
    assert hand.count([1, 0, 0]) == 2
    assert hand.count((0, 1, 1)) == 0
    assert hand.overlap().to_numpy().tolist() == [[5, 2, 2], [2, 3, 1], [2, 1, 3]]
    assert hand.list_sizes() == {"A": 5, "B": 3, "C": 3}


@pytest.mark.parametrize("pattern", [[1, 0], [1, 0, 2], [1, 0, 0, 0]])
def test_count_rejects_a_malformed_pattern(hand: CaptureHistories, pattern: list[int]) -> None:
    with pytest.raises(InputError, match="one 0/1 value per list"):
        hand.count(pattern)


def test_unknown_list_names_and_positions(hand: CaptureHistories) -> None:
    with pytest.raises(InputError, match="no list named 'D'; lists are A, B, C"):
        hand.margin(["D"])
    with pytest.raises(InputError, match="position 3 is out of range 0..2"):
        hand.omit_lists([3])


def test_to_frame_round_trip(uk6: CaptureHistories, hand: CaptureHistories) -> None:
    full = uk6.to_frame()
    assert len(full) == 63 and list(full.columns) == [*uk6.lists, "count"]
    assert CaptureHistories.from_frame(full) == uk6
    positive = uk6.to_frame(include_zero=False)
    assert len(positive) == 25  # the 25 data rows of uk2013_6lists.csv
    assert CaptureHistories.from_frame(positive) == uk6
    assert hand.to_frame(include_zero=False)["count"].tolist() == [2, 1, 1, 1, 1, 1]


def test_equality_and_hash(hand: CaptureHistories) -> None:
    again = CaptureHistories.from_counts(HAND_PATTERNS[::-1], HAND_COUNTS[::-1], ["A", "B", "C"])
    assert again == hand and hash(again) == hash(hand)
    assert len({hand, again}) == 1
    assert hand != hand.with_counts(hand.counts + 1)
    renamed = CaptureHistories.from_counts(HAND_PATTERNS, HAND_COUNTS, ["A", "B", "D"])
    assert hand != renamed
    assert hand != "not a table"


def test_table_is_read_only(hand: CaptureHistories) -> None:
    with pytest.raises(ValueError):
        hand.counts[0] = 99


def test_with_counts(hand: CaptureHistories) -> None:
    doubled = hand.with_counts(hand.counts * 2)
    assert doubled.n_observed == 14 and doubled.lists == hand.lists
    with pytest.raises(InputError, match="need 7 cell counts"):
        hand.with_counts(np.ones(6, dtype=np.int64))


# ------------------------------------------------------------------ operations
def test_merge_pf_and_nca_gives_the_five_list_file(uk6: CaptureHistories, uk5: CaptureHistories) -> None:
    # REFERENCE.md: uk2013_5lists is "the same with police and NCA merged"
    merged = uk6.merge_lists(["PF", "NCA"], name="PFNCA")
    assert merged == uk5
    assert uk6.merge_lists(["NCA", "PF"]).lists == ("LA", "NG", "PF+NCA", "GO", "GP")


def test_merge_by_hand(hand: CaptureHistories) -> None:
    merged = hand.merge_lists(["B", "C"], name="BC")
    # on B or C: B 1, AB 1, C 1, AC 1, ABC 1 -> BC alone 2, A with BC 3; A alone 2
    assert merged.lists == ("A", "BC")
    assert merged.counts.tolist() == [2, 2, 3]


def test_merge_refuses_bad_requests(hand: CaptureHistories) -> None:
    with pytest.raises(InputError, match="at least two different lists"):
        hand.merge_lists(["A"])
    with pytest.raises(InputError, match="at least two different lists"):
        hand.merge_lists(["A", "A"])
    with pytest.raises(InputError, match="C appears twice"):
        hand.merge_lists(["A", "B"], name="C")
    with pytest.raises(InputError, match="at least 2 lists; got 1"):
        hand.merge_lists(["A", "B", "C"])


def test_omit_lists_by_hand(hand: CaptureHistories) -> None:
    without_c = hand.omit_lists(["C"])
    # A: 2 + AC 1 = 3, B 1, AB: 1 + ABC 1 = 2; entity 6 (only on C) drops out
    assert without_c.lists == ("A", "B")
    assert without_c.counts.tolist() == [3, 1, 2]
    assert hand.omit_lists([2]) == without_c
    with pytest.raises(InputError, match="at least 2 lists; got 1"):
        hand.omit_lists(["B", "C"])


def test_drop_uninformative_by_hand() -> None:
    # Lists A..E. SparseMSE removenoninformativelists drops a duplicate list (unique over columns),
    # then lists whose total is 0 or the whole count. Here A is empty, B holds every case and
    # D has exactly C's cases, so C and E stay.
    lists = ["A", "B", "C", "D", "E"]
    patterns = [[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 0, 0, 1], [0, 1, 1, 1, 1]]
    counts = [5, 3, 4, 2]
    zero_a = CaptureHistories.from_counts([[1, 1, 0, 0, 0], *patterns], [1, *counts], lists)
    table = zero_a.with_counts(np.where(zero_a.patterns[:, 0] == 1, 0, zero_a.counts))
    assert table.list_sizes() == {"A": 0, "B": 14, "C": 5, "D": 5, "E": 6}
    kept = table.drop_uninformative()
    assert kept.lists == ("C", "E")
    # C alone (from BCD) 3, E alone (from BE) 4, C and E (from BCDE) 2; B-only cases leave
    assert kept.counts.tolist() == [3, 4, 2]


def test_drop_uninformative_keeps_the_first_of_duplicates_and_is_a_no_op_otherwise(
    hand: CaptureHistories, uk6: CaptureHistories
) -> None:
    twin = CaptureHistories.from_counts([[1, 1, 0], [0, 0, 1], [1, 1, 1]], [5, 4, 3], ["A", "B", "C"])
    assert twin.drop_uninformative().lists == ("A", "C")
    assert hand.drop_uninformative() is hand
    assert uk6.drop_uninformative() is uk6


def test_drop_uninformative_may_leave_too_few_lists() -> None:
    twin = CaptureHistories.from_counts([[1, 1], [1, 1]], [2, 3])
    assert twin.drop_uninformative().n_lists == 0  # both hold every case
