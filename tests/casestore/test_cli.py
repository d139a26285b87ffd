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
    result = _run("rotate-key", "--retire-old", *common)
    assert result.exit_code == 0 and "with key k2" in result.stdout, result.output
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
