"""Command-line commands of this capability (registered by darkfigure.cli): ``darkfigure serve``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

_DATABASE = "Case store: a SQLite file path or a database URL (default $DARKFIGURE_CASE_DB or cases.db)."
_KEY_FILE = (
    "Key file of the case store (default $DARKFIGURE_CASE_KEY_FILE, else cases.key as `darkfigure cases init` "
    "writes it); also signs the session cookies."
)
_RESULTS = "Folder of `darkfigure run` output folders whose latest estimates the dashboard shows."


def register(app: typer.Typer, user_errors: Callable[[], Any]) -> None:
    """Add this capability's commands to ``app``; ``user_errors()`` turns DarkfigureError into exit 2."""

    @app.command()
    def serve(
        database: Annotated[str | None, typer.Option(help=_DATABASE)] = None,
        key_file: Annotated[Path | None, typer.Option(help=_KEY_FILE)] = None,
        host: Annotated[str, typer.Option(help="Address to listen on (put https in front for others).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        results: Annotated[Path | None, typer.Option(help=_RESULTS)] = None,
        workers: Annotated[int, typer.Option(help="Worker processes (each opens the store).")] = 1,
    ) -> None:
        """Serve the web application: case list, intake, import, export, audit log and dashboard."""
        with user_errors():
            from darkfigure.web.server import serve as run

            run(database, key_file, host, port, results, workers)
