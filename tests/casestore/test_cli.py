"""``darkfigure cases ...``: init, create-admin, import, export, audit-verify, rotate-key; errors exit 2."""

from __future__ import annotations

import os
import stat

from sqlalchemy import update
from typer.testing import CliRunner

from darkfigure.casestore import KeyRing, open_store
from darkfigure.casestore.models import audit_log
from darkfigure.cli import app

runner = CliRunner()


def _run(*args, **env):
    return runner.invoke(app, ["cases", *args], env={"DARKFIGURE_ADMIN_PASSWORD": "a long admin password", **env})


def test_cases_commands_end_to_end(tmp_path):
    db, key = str(tmp_path / "cases.db"), str(tmp_path / "case.key")
    common = ["--db", db, "--key", key]
    assert _run("init", *common).exit_code == 0
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and stat.S_IMODE(os.stat(db).st_mode) == 0o600
    result = _run("create-admin", "--org", "Shelter", "--username", "boss", "--org-type", "NGO", *common)
    assert result.exit_code == 0, result.output
    source = tmp_path / "in.csv"
    source.write_text(
        "prs_FirstName,prs_SecondName,prs_Gender,con_Statistics,con_Linkage\n"
        "Ari,Song,Feminine,yes,yes\nBo,Tran,Masculine,no,yes\n",
        encoding="utf-8",
    )
    result = _run("import", str(source), "--org", "Shelter", *common)
    assert result.exit_code == 0 and "imported 2 cases" in result.stdout
    result = _run("export", str(tmp_path / "ctdc.csv"), "--org", "Shelter", "--format", "ctdc", *common)
    assert result.exit_code == 0 and "wrote 1 cases" in result.stdout
    result = _run("export", str(tmp_path / "list.csv"), "--org", "Shelter", "--format", "linkage", *common)
    assert result.exit_code == 0 and (tmp_path / "mapping.toml").exists()
    assert _run("audit-verify", *common).exit_code == 0
    result = _run("rotate-key", *common)
    assert result.exit_code == 0 and "with key k2" in result.stdout, result.output
    assert sorted(KeyRing.read(key).keys) == ["k1", "k2"]
    result = _run("rotate-key", "--retire-old", *common)  # retires k1 (no value uses it), makes no k3
    assert result.exit_code == 0 and "retired keys k1" in result.stdout, result.output
    assert list(KeyRing.read(key).keys) == ["k2"]
    assert _run("audit-verify", *common).exit_code == 0
    store = open_store(db, key)
    assert store.authenticate("boss", "a long admin password") is not None
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(case_code="XXXX-XXXX"))
    store.close()
    result = _run("audit-verify", *common)
    assert result.exit_code == 1 and "entry 3" in result.stderr


def test_user_errors_exit_2_with_one_line(tmp_path):
    db, key = str(tmp_path / "cases.db"), str(tmp_path / "case.key")
    common = ["--db", db, "--key", key]
    _run("init", *common)
    _run("create-admin", "--org", "Shelter", "--username", "boss", *common)
    bad = tmp_path / "bad.csv"
    bad.write_text("prs_FirstName,prs_Gender\nAri,Femme\nBo,Mal\n", encoding="utf-8")
    result = _run("import", str(bad), "--org", "Shelter", *common)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "row 2, column prs_Gender" in lines[0] and "row 3, column prs_Gender" in lines[0]
    result = _run("import", str(bad), "--org", "Nobody", *common)
    assert result.exit_code == 2 and "no organisation" in result.stderr
    result = _run("audit-verify", "--db", db, "--key", str(tmp_path / "missing.key"))
    assert result.exit_code == 2 and "key file" in result.stderr


GOOD_CSV = "prs_FirstName,prs_SecondName,prs_Gender,con_Statistics,con_Linkage\nAri,Song,Feminine,yes,yes\n"


def _store_with_admin(folder):
    db, key = str(folder / "cases.db"), str(folder / "cases.key")
    assert _run("init", "--db", db, "--key", key).exit_code == 0
    assert _run("create-admin", "--org", "Hope Shelter", "--username", "amina", "--db", db, "--key", key).exit_code == 0
    return db, key


def test_a_key_file_of_another_store_is_refused_and_nothing_is_written(tmp_path):
    # walkthrough item 1: import with another store's key said "imported 4 cases" and broke the audit log
    db, key = _store_with_admin(tmp_path)
    (tmp_path / "other").mkdir()
    other_key = str(tmp_path / "other" / "cases.key")
    assert _run("init", "--db", str(tmp_path / "other" / "cases.db"), "--key", other_key).exit_code == 0
    source = tmp_path / "good.csv"
    source.write_text(GOOD_CSV, encoding="utf-8")
    before = (tmp_path / "cases.db").read_bytes()
    for args in (
        ("import", str(source), "--org", "Hope Shelter"),
        ("export", str(tmp_path / "x.csv"), "--org", "Hope Shelter"),
        ("audit-verify",),
        ("create-admin", "--org", "Hope Shelter", "--username", "eve"),
    ):
        result = _run(*args, "--db", db, "--key", other_key)
        assert result.exit_code == 2, (args, result.output)
        assert "this key file does not belong to this database" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
    store = open_store(db, key)
    assert store.verify_audit().ok and store.verify_audit().entries == 1  # the admin's creation only
    assert store.list_cases(store.system_actor("Hope Shelter")).total == 0
    store.close()
    assert _run("import", str(source), "--org", "Hope Shelter", "--db", db, "--key", key).exit_code == 0
    assert (tmp_path / "cases.db").read_bytes() != before


def test_commands_use_init_defaults_and_check_the_key_before_the_password(tmp_path, monkeypatch):
    # walkthrough item 6: create-admin in init's folder asked for the password twice, then "no case key"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DARKFIGURE_CASE_KEY", raising=False)
    monkeypatch.delenv("DARKFIGURE_CASE_KEY_FILE", raising=False)
    monkeypatch.delenv("DARKFIGURE_CASE_DB", raising=False)
    assert runner.invoke(app, ["cases", "init"]).exit_code == 0
    result = runner.invoke(
        app, ["cases", "create-admin", "--org", "Hope Shelter", "--username", "amina"],
        input="a long admin password\na long admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "administrator amina created" in result.stdout
    (tmp_path / "cases.key").rename(tmp_path / "moved.key")
    result = runner.invoke(app, ["cases", "create-admin", "--org", "Hope Shelter", "--username", "bo"], input="")
    assert result.exit_code == 2 and "key file" in result.stderr
    assert "Password" not in result.output  # refused before the prompt
    store = open_store("cases.db", "moved.key")
    assert store.authenticate("amina", "a long admin password") is not None
    store.close()


def test_password_from_stdin_and_option_names_in_errors(tmp_path):
    db, key = str(tmp_path / "cases.db"), str(tmp_path / "cases.key")
    _run("init", "--db", db, "--key", key)
    args = ["cases", "create-admin", "--org", "S", "--username", "amina", "--password-stdin", "--db", db, "--key", key]
    result = runner.invoke(app, args, input="short\n", env={"DARKFIGURE_ADMIN_PASSWORD": ""})
    assert result.exit_code == 2 and "error: a password needs at least 10 characters" in result.stderr, result.output
    assert "--password:" not in result.stderr  # there is no such option to point at
    result = runner.invoke(app, args, input="a long stdin password\n", env={"DARKFIGURE_ADMIN_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    help_text = runner.invoke(app, ["cases", "create-admin", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--password " not in help_text and "--password-stdin" in help_text


def test_a_missing_database_is_not_created(tmp_path):
    # walkthrough item 7: `cases export x.csv --db nodb.db` left an empty nodb.db behind
    _db, key = _store_with_admin(tmp_path)
    missing = tmp_path / "nodb.db"
    for args in (("export", str(tmp_path / "x.csv"), "--org", "Hope Shelter"), ("audit-verify",)):
        result = _run(*args, "--db", str(missing), "--key", key)
        assert result.exit_code == 2
        assert result.stderr.strip().endswith(f"no case database at {missing} (create one with darkfigure cases init)")
    assert not missing.exists() and not (tmp_path / "x.csv").exists()


def test_export_refuses_to_overwrite_and_is_private(tmp_path):
    # walkthrough item 8: export silently replaced an existing file
    db, key = _store_with_admin(tmp_path)
    source = tmp_path / "good.csv"
    source.write_text(GOOD_CSV, encoding="utf-8")
    _run("import", str(source), "--org", "Hope Shelter", "--db", db, "--key", key)
    for kind in ("ctdc", "linkage"):
        out = tmp_path / f"{kind}.csv"
        out.write_text("keep me", encoding="utf-8")
        common = [str(out), "--org", "Hope Shelter", "--format", kind, "--db", db, "--key", key]
        result = _run("export", *common)
        assert result.exit_code == 2 and "exists already" in result.stderr and "--force" in result.stderr
        assert out.read_text(encoding="utf-8") == "keep me"
        assert _run("export", *common, "--force").exit_code == 0
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    linkage = (tmp_path / "linkage.csv").read_text(encoding="utf-8")
    assert "Ari" in linkage


def test_template_command_writes_the_web_template(tmp_path):
    from darkfigure.casestore import IMPORT_COLUMNS

    out = tmp_path / "template.csv"
    assert _run("template", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").strip().split(",") == list(IMPORT_COLUMNS)
    assert _run("template", str(out)).exit_code == 2
