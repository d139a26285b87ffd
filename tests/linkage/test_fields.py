"""The column mapping: reading it, and clear errors naming the file, list and field."""

from pathlib import Path

import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.linkage import names
from darkfigure.linkage.fields import ColumnMapping, identity_frame, read_lists, read_mapping


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mapping_file(tmp_path):
    _write(tmp_path, "shelter.csv", "case,first,last,dob\nS1, Min-ji ,Kim,1990-05-04\nS2,Yong-hui,Ri,\n")
    _write(tmp_path, "police.csv", "id,name,hangul,year\nP1,Gim Minji,김민지,1990\n")
    return _write(
        tmp_path,
        "mapping.toml",
        '[lists.shelter]\nfile = "shelter.csv"\nrecord_id = "case"\ngiven_name = "first"\nfamily_name = "last"\n'
        'birth_date = "dob"\n\n[lists.police]\nfile = "police.csv"\nrecord_id = "id"\nfull_name = "name"\n'
        'name_original_script = "hangul"\nbirth_year = "year"\nextra = ["hangul"]\n',
    )


def test_read_mapping_and_lists(mapping_file):
    mapping = read_mapping(mapping_file)
    assert list(mapping.lists) == ["shelter", "police"]
    assert mapping.lists["police"].extras == {"hangul": "hangul"}
    lists = read_lists(mapping)
    assert lists["shelter"].loc[0, "first"] == "Min-ji"  # padding stripped
    frame = identity_frame(lists, mapping)
    assert frame["record_id"].tolist() == ["S1", "S2", "P1"]
    assert frame["family_key"].tolist() == ["kim", "li", "kim"]
    assert frame["given_key"].tolist() == ["minji", "yonghi", "minji"]
    assert frame["given_hangul"].tolist()[2] == "민지" and pd.isna(frame["given_hangul"].iloc[0])
    assert frame["birth_year"].tolist() == [1990, pd.NA, 1990]
    assert frame["birth_date"].tolist()[0] == "1990-05-04" and pd.isna(frame["birth_date"].iloc[2])
    assert frame["x_hangul"].tolist()[2] == "김민지"


def test_dates_in_several_formats_and_errors():
    raw = pd.DataFrame({"d": ["1990-05-04", "19900504", "04/05/1990", "04.05.1990", "1990/05/04",
                              "19901311", "around 1987", "", None]})  # fmt: skip
    frame = identity_frame({"A": raw}, ColumnMapping.from_dict({"A": {"birth_date": "d"}}))
    assert frame["birth_date"].tolist()[:5] == ["1990-05-04"] * 5
    assert pd.isna(frame["birth_date"].iloc[5]) and frame["birth_year"].iloc[5] == 1990  # month 13: year kept
    assert frame["birth_year"].iloc[6] == 1987
    assert frame["birth_year"].iloc[7:].isna().all()


def test_sex_and_places():
    raw = pd.DataFrame(
        {
            "s": ["F", "female", "여", "M", "남성", "x"],
            "p": ["North Hamgyong", "Hamgyŏng-pukto", "", None, "Yanggang-do", "Ryanggang"],
        }
    )
    frame = identity_frame({"A": raw}, ColumnMapping.from_dict({"A": {"sex": "s", "place_of_origin": "p"}}))
    assert frame["sex"].tolist()[:5] == ["f", "f", "f", "m", "m"] and pd.isna(frame["sex"].iloc[5])
    assert frame["place_key"].iloc[0] == frame["place_key"].iloc[1]
    assert frame["place_key"].iloc[4] == frame["place_key"].iloc[5]


def test_missing_column_names_file_list_and_field(mapping_file):
    text = mapping_file.read_text().replace('birth_year = "year"', 'birth_year = "yob"')
    mapping = read_mapping(_write(mapping_file.parent, "mapping.toml", text))
    lists = read_lists(mapping)
    with pytest.raises(InputError) as err:
        identity_frame(lists, mapping)
    message = str(err.value)
    assert "police.csv" in message and "'police'" in message and "'birth_year'" in message
    assert "'yob'" in message and "year" in message  # what was expected and what there is
    assert err.value.column == "yob"


def test_empty_list_is_an_error(mapping_file):
    _write(mapping_file.parent, "police.csv", "id,name,hangul,year\n")
    mapping = read_mapping(mapping_file)
    with pytest.raises(InputError, match=r"police\.csv.*list 'police' is empty"):
        identity_frame(read_lists(mapping), mapping)
    _write(mapping_file.parent, "police.csv", "")
    with pytest.raises(InputError, match=r"police\.csv.*list 'police' is empty"):
        read_lists(mapping)


def test_unreadable_list_file(mapping_file):
    (mapping_file.parent / "police.csv").unlink()
    with pytest.raises(InputError, match=r"police\.csv.*cannot read list 'police'"):
        read_lists(read_mapping(mapping_file))
    (mapping_file.parent / "police.csv").write_bytes(b"id,name\n\xff\xfe\xff,1\n")
    with pytest.raises(InputError, match=r"police\.csv.*cannot read list 'police'"):
        read_lists(read_mapping(mapping_file))


def test_unreadable_or_bad_mapping_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.toml.*cannot read the mapping file"):
        read_mapping(tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"bad\.toml.*not valid TOML"):
        read_mapping(_write(tmp_path, "bad.toml", "[lists.A\nfile = 1"))
    with pytest.raises(InputError, match=r"nolists\.toml.*\[lists\.<list name>\]"):
        read_mapping(_write(tmp_path, "nolists.toml", 'title = "x"\n'))
    with pytest.raises(InputError, match=r"typo\.toml.*list 'A'.*unknown field 'given_nmae'.*'given_name'"):
        read_mapping(_write(tmp_path, "typo.toml", '[lists.A]\nfile = "a.csv"\ngiven_nmae = "first"\n'))
    with pytest.raises(InputError, match=r"list 'A' maps no identity field"):
        read_mapping(_write(tmp_path, "none.toml", '[lists.A]\nfile = "a.csv"\n'))
    with pytest.raises(InputError, match=r"field 'sex' must name a column as text, got 3"):
        read_mapping(_write(tmp_path, "num.toml", "[lists.A]\nsex = 3\n"))


def test_lists_and_mapping_must_agree():
    mapping = ColumnMapping.from_dict({"A": {"given_name": "g"}})
    with pytest.raises(InputError, match="no column mapping for list\\(s\\) 'B'"):
        identity_frame({"A": pd.DataFrame({"g": ["x"]}), "B": pd.DataFrame({"g": ["y"]})}, mapping)


def test_record_ids_must_be_unique():
    mapping = ColumnMapping.from_dict({"A": {"record_id": "id", "given_name": "g"}})
    with pytest.raises(InputError, match="record id repeated \\('7'\\)") as err:
        identity_frame({"A": pd.DataFrame({"id": ["7", "8", "7"], "g": ["a", "b", "c"]})}, mapping)
    assert err.value.row == 4  # the header is row 1


def test_reads_the_simulator_layout_and_recodes_values(tmp_path):
    """The mapping `darkfigure simulate` writes: fields table, codes, date_format, notes."""

    (tmp_path / "police.csv").write_text("CASE,SURNAME,DOB,ORIGIN,PROVINCE\nP1,KIM,21/07/1999,咸镜北道,吉林省\n")
    (tmp_path / "mapping.toml").write_text(
        '[lists.police]\nfile = "police.csv"\nlabel = "Police"\nkind = "Police"\ndate_format = "%d/%m/%Y"\n'
        '[lists.police.fields]\nrecord_id = "CASE"\nfamily_name = "SURNAME"\nbirth_date = "DOB"\n'
        'place_of_origin = "ORIGIN"\nplace_of_exploitation = "PROVINCE"\n'
        '[lists.police.codes.place_of_origin]\n"咸镜北道" = "North Hamgyong"\n'
        '[lists.police.codes.place_of_exploitation]\n"吉林省" = "Jilin"\n'
    )
    mapping = read_mapping(tmp_path / "mapping.toml")
    frame = identity_frame(read_lists(mapping), mapping)
    assert frame.loc[0, "record_id"] == "P1"
    assert frame.loc[0, "birth_date"] == "1999-07-21"  # day first, as the list's date_format says
    assert frame.loc[0, "x_place_of_exploitation"] == "jilin"  # recoded, kept as an extra field
    assert frame.loc[0, "place_key"] == names.place_key("North Hamgyong")  # recoded before keying
