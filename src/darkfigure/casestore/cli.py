"""Commands of the case store: ``darkfigure cases init|create-admin|import|export|audit-verify|rotate-key``.

The command line holds the key, so it acts as an administrator (``cli``) of the organisation named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="DARKFIGURE_CASE_DB", help="Case database: a SQLite file or a PostgreSQL URL."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="DARKFIGURE_CASE_KEY_FILE",
        help="Key file (kept outside the database); or set DARKFIGURE_CASE_KEY.",
    ),
]
OrgOption = Annotated[str, typer.Option("--org", help="The organisation whose list this is.")]


def _open(db: str | None, key: Path | None):
    from darkfigure.casestore.service import open_store

    return open_store(db, key)


def register(app: typer.Typer, user_errors: Callable[[], Any]) -> None:
    """Add this capability's commands to ``app``; ``user_errors()`` turns DarkfigureError into exit 2."""
    cases = typer.Typer(help="HTCDS case records: encrypted, consent-checked, audited.", no_args_is_help=True)
    app.add_typer(cases, name="cases")

    @cases.command()
    def init(
        db: DbOption = "cases.db",
        key: Annotated[Path, typer.Option("--key", help="Key file to create (mode 0600).")] = Path("cases.key"),
    ) -> None:
        """Create the case database and its key file (readable by you only; keep a copy somewhere safe)."""
        with user_errors():
            from darkfigure.casestore.service import init_store

            init_store(db, key).close()
        typer.echo(f"case database ready; key file {key}")

    @cases.command("create-admin")
    def create_admin(
        org: OrgOption,
        username: Annotated[str, typer.Option(help="The administrator's user name.")],
        password: Annotated[
            str,
            typer.Option(
                prompt=True,
                hide_input=True,
                confirmation_prompt=True,
                envvar="DARKFIGURE_ADMIN_PASSWORD",
                help="Password (asked for when not given).",
            ),
        ],
        org_type: Annotated[str | None, typer.Option(help="HTCDS org_Type, e.g. NGO, LawEnforcement.")] = None,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Create an administrator (and the organisation, if new)."""
        with user_errors():
            store = _open(db, key)
            names = {o.name for o in store.organisations()}
            organisation = store.organisation(org) if org in names else store.create_organisation(org, org_type)
            store.create_user(organisation, username, password, "administrator")
            store.close()
        typer.echo(f"administrator {username} created in {org}")

    @cases.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="CSV or XLSX file with HTCDS column names.")],
        org: OrgOption,
        format: Annotated[str | None, typer.Option(help="csv or xlsx (default: from the file name).")] = None,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Import cases, all or nothing: any bad cell rejects the file and lists every problem."""
        with user_errors():
            store = _open(db, key)
            report = store.import_file(store.system_actor(org), file, format)
            store.close()
        typer.echo(f"imported {report.rows} cases into {org}")

    @cases.command()
    def export(
        out: Annotated[Path, typer.Argument(help="CSV file to write.")],
        org: OrgOption,
        format: Annotated[
            str, typer.Option(help="ctdc (no identifiers) or linkage (for darkfigure encode/link).")
        ] = "ctdc",
        list_name: Annotated[str | None, typer.Option(help="List name in mapping.toml (linkage).")] = None,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Export consented cases: ctdc (consent for statistics) or linkage (consent for linkage)."""
        with user_errors():
            from darkfigure.errors import InputError

            if format not in ("ctdc", "linkage"):
                raise InputError(f"unknown export format {format!r}; choose ctdc or linkage")
            store = _open(db, key)
            actor = store.system_actor(org)
            if format == "ctdc":
                message = f"wrote {store.export_ctdc(actor, out)} cases to {out}"
            else:
                message = f"wrote {out} and {store.export_list(actor, out, list_name)}"
            store.close()
        typer.echo(message)

    @cases.command("audit-verify")
    def audit_verify(db: DbOption = None, key: KeyOption = None) -> None:
        """Check the audit log's hash chain; name the first broken entry (exit 1 then)."""
        with user_errors():
            store = _open(db, key)
            verdict = store.verify_audit()
            store.close()
        if not verdict.ok:
            typer.echo(f"audit log BROKEN at entry {verdict.first_broken}: {verdict.reason}", err=True)
            raise typer.Exit(1)
        typer.echo(f"audit log intact: {verdict.entries} entries")

    @cases.command("rotate-key")
    def rotate_key(
        key: Annotated[Path, typer.Option("--key", envvar="DARKFIGURE_CASE_KEY_FILE", help="The key file.")],
        retire_old: Annotated[bool, typer.Option(help="Drop the old keys from the file afterwards.")] = False,
        db: DbOption = None,
    ) -> None:
        """Make a new data key and re-encrypt every identifying value with it, in one transaction."""
        with user_errors():
            store = _open(db, key)
            done = store.rotate_key(key, retire_old=retire_old)
            active = store.ring.active
            store.close()
        typer.echo(f"re-encrypted {done} values with key {active}")
