"""Running the web application with uvicorn: one process, or several workers built from the environment."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI

from darkfigure.web.app import create_app
from darkfigure.web.config import SESSION_SECRET_ENV, WebConfig, session_secret

RESULTS_ENV = "DARKFIGURE_WEB_RESULTS"


def build_app(database: str | None, key_file: Path | None, results: Path | None = None, **store_options) -> FastAPI:
    """Open the case store (migrating it to the newest schema) and build the application over it.

    >>> import tempfile, pathlib
    >>> from darkfigure.casestore import KeyRing
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> KeyRing.generate().write(folder / "case.key")
    >>> build_app(str(folder / "cases.db"), folder / "case.key").state.store.has_users()
    False
    """
    from darkfigure.casestore import open_store

    secret = session_secret(key_file)
    store = open_store(database, key_file, **store_options)
    return create_app(store, WebConfig(session_secret=secret), results=results)


def app_from_environment() -> FastAPI:
    """The application for one uvicorn worker, from the variables :func:`serve` sets."""
    key_file = os.environ.get("DARKFIGURE_CASE_KEY_FILE")
    results = os.environ.get(RESULTS_ENV)
    return build_app(
        os.environ.get("DARKFIGURE_CASE_DB"), Path(key_file) if key_file else None, Path(results) if results else None
    )


def serve(
    database: str | None, key_file: Path | None, host: str, port: int, results: Path | None = None, workers: int = 1
) -> None:
    """Serve until stopped; with ``workers`` > 1 each worker opens the store itself."""
    import uvicorn

    _log_to_stderr()
    if workers <= 1:
        app = build_app(database, key_file, results)
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True, server_header=False)
        return
    build_app(database, key_file, results).state.store.close()  # migrate once, refuse bad settings early
    os.environ[SESSION_SECRET_ENV] = session_secret(key_file)
    for name, value in (("DARKFIGURE_CASE_DB", database), ("DARKFIGURE_CASE_KEY_FILE", key_file),
                        (RESULTS_ENV, results)):
        if value is not None:
            os.environ[name] = str(value)
    # a worker imports darkfigure (scipy, numba) before it answers: give it longer than uvicorn's 5 s
    uvicorn.run("darkfigure.web.server:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=True, server_header=False, timeout_worker_healthcheck=120)


def _log_to_stderr() -> None:
    logger = logging.getLogger("darkfigure")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
