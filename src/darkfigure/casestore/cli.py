"""Commands of the case store: ``darkfigure cases init|create-admin|import|export|list|template|audit-verify|
rotate-key`` and ``erase``.

The command line holds the key, so it acts as an administrator (``cli``) of the organisation named.
Every command finds the database and key where ``init`` put them (``cases.db`` and ``cases.key`` in the
current folder) unless told otherwise; only ``init`` creates a database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="DARKFIGURE_CASE_DB", help="Case database: a SQLite file (default cases.db) or a PostgreSQL URL."
    ),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="DARKFIGURE_CASE_KEY_FILE",
        help="Key file (kept outside the database; default cases.key); or set DARKFIGURE_CASE_KEY.",
    ),
]
OrgOption = Annotated[str, typer.Option("--org", help="The organisation whose list this is.")]


PASSWORD_ENV = "DARKFIGURE_ADMIN_PASSWORD"


def default_key(key: Path | None) -> Path | None:
    """The key file a command uses: the one given, else none when ``$DARKFIGURE_CASE_KEY`` holds the key,
    else ``cases.key`` (where ``darkfigure cases init`` writes it).

    >>> str(default_key(Path("my.key")))
    'my.key'
    """
    if key is not None:
        return key
    if os.environ.get("DARKFIGURE_CASE_KEY", "").strip() or os.environ.get("DARKFIGURE_CASE_KEY_FILE", "").strip():
        return None
    return Path("cases.key")


def _open(db: str | None, key: Path | None):
    """An existing store (never a new one: a mistyped --db is an error, not an empty database)."""
    from darkfigure.casestore.service import open_store

    return open_store(db, default_key(key), create=False)


def _admin_password(from_stdin: bool) -> str:
    """The new administrator's password: from stdin, ``$DARKFIGURE_ADMIN_PASSWORD``, or asked twice, hidden."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get(PASSWORD_ENV) or typer.prompt("Password", hide_input=True, confirmation_prompt=True)


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
        password_stdin: Annotated[
            bool,
            typer.Option(help=f"Read the password from the first line of stdin (else ${PASSWORD_ENV}, else asked)."),
        ] = False,
        org_type: Annotated[str | None, typer.Option(help="HTCDS org_Type, e.g. NGO, LawEnforcement.")] = None,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Create an administrator (and the organisation, if new). The password is asked for (hidden,
        twice); scripts give it on stdin (--password-stdin) or in $DARKFIGURE_ADMIN_PASSWORD, never as an
        argument (it would show in ps and the shell history)."""
        with user_errors():
            from darkfigure.errors import InputError

            store = _open(db, key)  # the key and database are checked before the password is asked for
            try:
                password = _admin_password(password_stdin)
                names = {o.name for o in store.organisations()}
                organisation = store.organisation(org) if org in names else store.create_organisation(org, org_type)
                store.create_user(organisation, username, password, "administrator")
            except InputError as err:
                raise _as_option(err) from None
            finally:
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
        force: Annotated[bool, typer.Option(help="Replace OUT when it exists.")] = False,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Export consented cases: ctdc (consent for statistics) or linkage (consent for linkage).
        The file is readable by you only (0600); an existing file is replaced only with --force."""
        with user_errors():
            from darkfigure.errors import InputError

            if format not in ("ctdc", "linkage"):
                raise InputError(f"unknown export format {format!r}; choose ctdc or linkage")
            _check_export_path(out, force)
            store = _open(db, key)
            actor = store.system_actor(org)
            if format == "ctdc":
                message = f"wrote {store.export_ctdc(actor, out)} cases to {out}"
            else:
                message = f"wrote {out} and {store.export_list(actor, out, list_name)}"
            store.close()
        typer.echo(message)

    @cases.command()
    def template(
        out: Annotated[Path, typer.Argument(help="CSV file to write: a header of every column import accepts.")],
        force: Annotated[bool, typer.Option(help="Replace OUT when it exists.")] = False,
    ) -> None:
        """Write an empty import file (the same as the web application's import template)."""
        with user_errors():
            from darkfigure.casestore.transfer import write_template

            write_template(out, force=force)
        typer.echo(f"wrote {out}")

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
        key: KeyOption = None,
        retire_old: Annotated[
            bool,
            typer.Option(help="Make no new key: drop from the key file the old keys no stored value uses any more."),
        ] = False,
        db: DbOption = None,
    ) -> None:
        """Make a new data key and re-encrypt every identifying value with it, in one transaction.
        Afterwards (once backups made with the old key are gone) --retire-old drops the unused old keys."""
        with user_errors():
            from darkfigure.errors import InputError

            key = default_key(key)
            if key is None:
                raise InputError("rotate-key rewrites a key file; give --key (not $DARKFIGURE_CASE_KEY)")
            store = _open(db, key)
            if retire_old:
                retired = store.retire_keys(key)
                message = f"retired keys {', '.join(retired)}" if retired else "no unused old key to retire"
            else:
                done = store.rotate_key(key)
                message = f"re-encrypted {done} values with key {store.ring.active}"
            store.close()
        typer.echo(message)

    @cases.command("list")
    def list_(
        org: OrgOption,
        search: Annotated[
            str | None,
            typer.Option(help="A case code (or its start), or name words (a name search goes in the audit log)."),
        ] = None,
        status: Annotated[str | None, typer.Option(help="Only cases of this cas_Status, e.g. Active.")] = None,
        limit: Annotated[int, typer.Option(help="At most this many cases, newest first (1 to 500).")] = 50,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """List the organisation's cases, newest first, one a line: code, status, registration year and
        the date last changed (tab-separated; never a name). Find the code of a person's case by --search."""
        with user_errors():
            from darkfigure.errors import InputError

            if not 1 <= limit <= 500:
                raise InputError(f"option --limit: give 1 to 500 cases; got {limit}")
            filters = {"status": _status(status)} if status else {}
            store = _open(db, key)
            try:
                found = store.list_cases(store.system_actor(org), search=search, filters=filters, per_page=limit)
            finally:
                store.close()
        for case in found.items:
            typer.echo(case_line(case))
        if found.total > len(found.items):
            typer.echo(f"{len(found.items)} of {found.total} cases shown; give a larger --limit for more", err=True)
        elif not found.items:
            typer.echo("no case matches", err=True)

    @cases.command()
    def erase(
        code: Annotated[str, typer.Argument(help="The case code, e.g. K7M4-QX9P.")],
        org: Annotated[str, typer.Option("--org", help="The organisation the case belongs to.")],
        reason: Annotated[str, typer.Option(help="Why (kept in the audit log in clear): never the person's name.")],
        user: Annotated[
            str | None,
            typer.Option(help="The administrator who erases (in the audit log); default cli."),
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Confirm: an erasure cannot be undone.")] = False,
        db: DbOption = None,
        key: KeyOption = None,
    ) -> None:
        """Erase a whole case (the right to erasure): the case, its events, perpetrators, support plans,
        consents and name index, in one transaction; the audit log keeps the code, who and why."""
        with user_errors():
            from darkfigure.errors import InputError

            if not yes:
                raise InputError(f"erasing case {code} cannot be undone; add --yes to erase it")
            store = _open(db, key)
            try:
                report = store.erase_case(_administrator(store, org, user), code, reason)
            finally:
                store.close()
        typer.echo(f"case {report.code} erased ({report.deleted} rows)")
        if report.wal_cleared is False:
            typer.echo(
                "warning: another connection was reading, so the database's -wal file keeps the erased bytes "
                "until its next full checkpoint (SQLite makes one when the last connection closes)",
                err=True,
            )


def _check_export_path(out: Path, force: bool) -> None:
    """Refuse an export path that cannot be written before the store is opened: a folder that does not
    exist or a file in its path, a folder of that name, or an existing file without ``--force``.

    >>> _check_export_path(Path("cases-export.csv"), force=False)  # a new file in this folder is fine
    """
    from darkfigure._atomic import check_parent_folders
    from darkfigure.errors import InputError

    check_parent_folders(out, must_exist=True)
    if out.is_dir():
        raise InputError("is a folder; give the name of the CSV file to write", source=str(out))
    if out.exists() and not force:
        raise InputError(f"{out} exists already; give --force to replace it, or another file name")


def _administrator(store, org: str, username: str | None):
    """The acting administrator: ``cli`` of ``org``, or the named active administrator of ``org``."""
    from darkfigure.errors import AccessDenied

    cli = store.system_actor(org)
    if username is None:
        return cli
    found = [u for u in store.users(cli) if u.username == username]
    if not found or found[0].role != "administrator":
        raise AccessDenied(f"option --user: {username!r} is not an active administrator of {org}")
    return found[0]


def case_line(case) -> str:
    """One line of ``darkfigure cases list``: code, status, registration year, date last changed (UTC),
    tab-separated, ``-`` for a value not recorded; nothing identifying.

    >>> import datetime as dt
    >>> from darkfigure.casestore.types import CaseSummary
    >>> summary = CaseSummary("K7M4-QX9P", "Active", None, 2025, None, (), (), dt.datetime(2025, 3, 1, 9, 30))
    >>> case_line(summary).split()
    ['K7M4-QX9P', 'Active', '2025', '2025-03-01']
    """
    updated = case.updated_at.date().isoformat() if case.updated_at else None
    return "\t".join("-" if v is None else str(v) for v in (case.code, case.status, case.registration_year, updated))


def _status(status: str) -> str:
    """The cas_Status system name of ``--status`` (its label or name, any case)."""
    from darkfigure.casestore.fields import check_choice
    from darkfigure.errors import InputError

    try:
        return check_choice("cas_Status", status)
    except InputError as err:
        raise InputError(f"option --status: {err.message}; got {status!r}") from None


def _as_option(err):
    """An error about the user name names its option, not a column; one about the password is its own
    message (there is no --password option: the password comes from stdin, the environment or the prompt)."""
    from darkfigure.errors import InputError

    if err.column == "username":
        return InputError(f"option --username: {err.message}")
    if err.column == "password":
        return InputError(err.message)
    return err
