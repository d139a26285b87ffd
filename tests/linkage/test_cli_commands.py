"""``darkfigure link`` as a function: files in, links.csv and pairs.csv out, all or nothing."""

from pathlib import Path

import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.linkage.cli_commands import link_command, write_outputs
from darkfigure.linkage.cluster import LinkageResult


@pytest.fixture
def project(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "a.csv").write_text(
        "id,given,family,dob\n1,Min-ji,Kim,1990-05-04\n2,Yong-hui,Ri,1985-01-30\n3,Su-jin,Park,1971-03-02\n"
    )
    (tmp_path / "lists" / "b.csv").write_text("no,name,year\n10,Minji Gim,1990\n11,Yeong-hui Lee,1985\n")
    mapping = tmp_path / "lists" / "mapping.toml"
    mapping.write_text(
        '[lists.A]\nfile = "a.csv"\nrecord_id = "id"\ngiven_name = "given"\nfamily_name = "family"\n'
        'birth_date = "dob"\n[lists.B]\nfile = "b.csv"\nrecord_id = "no"\nfull_name = "name"\nbirth_year = "year"\n'
    )
    return mapping


def test_link_command_writes_links_and_pairs(project, tmp_path):
    out = tmp_path / "out"
    summary = link_command(project, out, threshold=0.9, seed=7)
    assert summary.startswith("Linked 5 records from 2 lists (A, B) into 3 entities at match probability 0.9")
    assert str(out) in summary
    links = pd.read_csv(out / "links.csv", dtype={"record_id": str})
    assert links.columns.tolist() == [
        "list", "record_id", "entity_id", "entity_id_0.5", "entity_id_0.8", "entity_id_0.9", "entity_id_0.95"
    ]  # fmt: skip
    by_record = dict(zip(links["list"] + ":" + links["record_id"], links["entity_id"], strict=True))
    assert by_record["A:1"] == by_record["B:10"] and by_record["A:2"] == by_record["B:11"]
    assert by_record["A:3"] not in (by_record["A:1"], by_record["A:2"])
    pairs = pd.read_csv(out / "pairs.csv")
    assert {"list_l", "record_id_l", "list_r", "record_id_r", "match_probability"} <= set(pairs.columns)
    assert sorted(p.name for p in out.iterdir()) == ["links.csv", "pairs.csv"]


def test_bad_input_leaves_no_output(project, tmp_path):
    project.write_text(project.read_text().replace('birth_year = "year"', 'birth_year = "born"'))
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"b\.csv.*list 'B'.*'birth_year'.*'born'"):
        link_command(project, out, threshold=0.8, seed=1)
    assert not out.exists()


def test_failed_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    records = pd.DataFrame({"list": ["A", "B"], "record_id": ["1", "1"]})
    result = LinkageResult.from_clusterings(records, pd.DataFrame({"x": [1]}), {0.8: [1, 1]}, 0.8)
    out = tmp_path / "out"
    out.mkdir()
    (out / "links.csv").write_text("old\n")
    calls = []

    def fail_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    original = pd.DataFrame.to_csv
    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_second)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(result, out)
    assert sorted(p.name for p in out.iterdir()) == ["links.csv"]
    assert (out / "links.csv").read_text() == "old\n"  # the earlier output is untouched


def test_output_folder_created_and_removed_on_failure(tmp_path, monkeypatch):
    records = pd.DataFrame({"list": ["A"], "record_id": ["1"]})
    result = LinkageResult.from_clusterings(records, pd.DataFrame(), {0.8: [1]}, 0.8)
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *a, **k: (_ for _ in ()).throw(OSError("no space")))
    out = tmp_path / "new" / "out"
    with pytest.raises(OSError):
        write_outputs(result, out)
    assert not out.exists()
    assert Path(tmp_path / "new").exists()  # parents made on the way stay; they hold nothing
