"""Dashboard, import, export and the audit log."""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from darkfigure.casestore.types import Actor, ImportRejected
from darkfigure.errors import InputError
from darkfigure.web.estimates import latest_estimates
from darkfigure.web.pages import flash, redirect, render, store_call, store_job, user_with

router = APIRouter()
log = logging.getLogger("darkfigure.web")
Reader = Annotated[Actor, Depends(user_with("read"))]
Writer = Annotated[Actor, Depends(user_with("write"))]
Admin = Annotated[Actor, Depends(user_with("admin"))]
IMPORT_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
AUDIT_PAGE = 100


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, actor: Reader) -> HTMLResponse:
    """Counts of the organisation's cases and the latest estimates of the pipeline runs."""
    counts = await store_call(request, "counts", actor)
    runs = await run_in_threadpool(latest_estimates, request.app.state.results)
    return render(request, "dashboard.j2", section="dashboard", counts=counts, runs=runs,
                  by_status=status_rows(counts.by_status))


def status_rows(by_status: dict) -> list[tuple[str | None, int]]:
    """The dashboard's rows of cases by status, by status name, cases with no status (None) last.

    >>> status_rows({None: 2, "FollowUp": 1, "Active": 3})
    [('Active', 3), ('FollowUp', 1), (None, 2)]
    """
    missing = {None, ""}
    rows = sorted((status, n) for status, n in by_status.items() if status not in missing)
    unrecorded = sum(n for status, n in by_status.items() if status in missing)
    return [*rows, (None, unrecorded)] if unrecorded else rows


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, actor: Writer) -> HTMLResponse:
    return render(request, "import.j2", section="import", problems=[], error=None)


@router.get("/import/template.csv")
def import_template(actor: Writer) -> Response:
    """An empty CSV with every column the import accepts."""
    from darkfigure.casestore.transfer import template_text

    return Response(template_text(), media_type="text/csv",
                    headers={"content-disposition": 'attachment; filename="darkfigure-import.csv"'})


@router.post("/import", response_class=HTMLResponse)
async def import_cases(request: Request, actor: Writer, file: UploadFile) -> Response:
    """Import a CSV or XLSX file all or nothing; every bad row and column is listed (422)."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in IMPORT_FORMATS:
        raise InputError(f"expected a .csv or .xlsx file; got {file.filename!r}", column="file")
    folder = Path(tempfile.mkdtemp(prefix="darkfigure-import-"))
    try:
        path = folder / f"upload{suffix}"
        await run_in_threadpool(_save, file, path, request.app.state.config.max_upload_bytes)
        # the kind of file only: a file's name can name a person, and the log is not protected as the store is
        log.info("import of a %s file started by %s", suffix, actor.username)
        # not through the gate: an import holds the database for long; others get a 503, not a hang
        report = await run_in_threadpool(request.app.state.store.import_file, actor, path,
                                         format=IMPORT_FORMATS[suffix], progress=_log_progress)
    except ImportRejected as err:
        return render(request, "import.j2", status_code=422, section="import", problems=err.problems, error=err)
    except InputError as err:  # not a CSV or XLSX after all (a renamed file): back to the import form
        from darkfigure.web.app import error_page

        return error_page(request, 422, message=err.message, field=err.column, back=("/import", "error.back_import"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("import of a %s file finished: %d rows", suffix, report.rows)
    flash(request, "ok", "import.done", rows=report.rows)
    return redirect("/cases")


def _save(upload: UploadFile, path: Path, limit: int) -> None:
    written = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise InputError(f"the file is larger than {limit // (1 << 20)} MB; split it", column="file")
            out.write(chunk)


def _log_progress(done: int, total: int) -> None:
    log.info("import progress %d/%d", done, total)


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, actor: Reader) -> HTMLResponse:
    return render(request, "export.j2", section="export")


@router.post("/export/ctdc")
async def export_ctdc(request: Request, actor: Reader) -> FileResponse:
    """The CTDC-shaped CSV (no identifiers, statistics-consented cases only) as a download."""
    folder = Path(tempfile.mkdtemp(prefix="darkfigure-export-"))
    path = folder / "ctdc.csv"
    await store_job(request, "export_ctdc", actor, path)
    return _download(path, "darkfigure-ctdc.csv", "text/csv", folder)


@router.post("/export/list")
async def export_list(request: Request, actor: Admin) -> FileResponse:
    """The organisation's list for linkage (linkage-consented cases) with its mapping, as a zip."""
    folder = Path(tempfile.mkdtemp(prefix="darkfigure-export-"))
    path = folder / "list.csv"
    mapping = Path(await store_job(request, "export_list", actor, path))
    bundle = folder / "list.zip"
    await run_in_threadpool(_zip, bundle, (path, mapping))
    return _download(bundle, "darkfigure-list.zip", "application/zip", folder)


def _zip(bundle: Path, parts: tuple[Path, ...]) -> None:
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in parts:
            archive.write(part, part.name)


def _download(path: Path, name: str, media_type: str, folder: Path) -> FileResponse:
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(path, media_type=media_type, filename=name, background=cleanup)


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    actor: Admin,
    case: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    verify: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The organisation's audit entries, newest first; ``verify`` checks the whole hash chain."""
    entries = await store_call(request, "audit_log", actor, case_code=case or None, limit=AUDIT_PAGE + 1,
                               offset=(page - 1) * AUDIT_PAGE)
    verdict = await store_job(request, "verify_audit") if verify else None
    return render(
        request, "audit.j2", section="audit", entries=entries[:AUDIT_PAGE], more=len(entries) > AUDIT_PAGE,
        page=page, case=case, verdict=verdict,
    )
