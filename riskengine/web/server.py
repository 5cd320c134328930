"""The buyers' page (``riskengine serve``): a small Starlette app on the loopback interface.

``POST /jobs`` takes the form (a sourcing list, optionally a BOM, the as-of date, buyer
country and buyer name) and starts a job; ``GET /jobs/{id}`` gives its stages and state;
``GET /jobs/{id}/table`` the scored rows; ``GET /jobs/{id}/files/{name}`` the downloads and the
HTML report. The page and its script are served from the package: nothing comes from another
host. A user's error answers 422 with the message the command line prints (400 for a request
the page would not send, 413 over the size cap); an internal error 500, with its traceback in
the server's log only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from riskengine.app.buyer_job import DOWNLOADS, REPORT_HTML, SCORES_TABLE, page_table
from riskengine.app.requests import BuyerJobRequest, InputFile, parse_as_of
from riskengine.config import Settings
from riskengine.web.jobs import USER_ERRORS, Job, JobBoard
from riskengine.web.uploads import UploadRefused, receive_form

LOGGER = logging.getLogger("riskengine.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The default cap on one upload request (the sourcing list and the BOM together).
DEFAULT_MAX_UPLOAD_BYTES = 50_000_000
#: The most rows the page's table holds; a longer output shows its riskiest rows.
DEFAULT_TABLE_ROWS = 10_000
FILE_FIELDS = ("sourcing", "bom")
TEXT_FIELDS = ("as_of", "buyer_country", "buyer")
# The page's own files only: no other origin, no inline script.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class WebConfig:
    """What one server works with.

    Attributes
    ----------
    settings : Settings
        The model store and reference data, as the command line resolves them.
    work_dir : Path
        Every file the server writes goes under it, one directory per job.
    max_upload_bytes : int
        The cap on one upload request.
    table_rows : int
        The most rows the page's table holds.
    model_alias : str
        The registry alias or version that scores.
    """

    settings: Settings
    work_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    table_rows: int = DEFAULT_TABLE_ROWS
    model_alias: str = "champion"


def create_app(config: WebConfig) -> Starlette:
    """The page's Starlette application (see the module's documentation for its routes)."""
    board = JobBoard(config.settings, config.work_dir)

    async def page(request: Request) -> Response:
        response = FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response

    async def start_job(request: Request) -> Response:
        job = board.new_job()
        try:
            form = await receive_form(
                request,
                job.directory,
                max_bytes=config.max_upload_bytes,
                file_fields=FILE_FIELDS,
                text_fields=TEXT_FIELDS,
            )
            if "sourcing" not in form.files:
                raise UploadRefused(400, "choose a sourcing list to upload")
            job.shown_paths = {
                str(upload.path): upload.shown_name for upload in form.files.values()
            }
            fields = {name: value.strip() for name, value in form.fields.items()}
            bom = form.files.get("bom")
            job_request = BuyerJobRequest(
                sourcing=InputFile(str(form.files["sourcing"].path)),
                directory=str(job.directory),
                as_of=parse_as_of(fields.get("as_of", "")),
                bom=InputFile(str(bom.path)) if bom else None,
                buyer_country=fields.get("buyer_country") or None,
                buyer_name=fields.get("buyer") or None,
                model_alias=config.model_alias,
            )
        except UploadRefused as refused:
            board.discard(job)
            return _error(refused.status, refused.message)
        except USER_ERRORS as error:
            board.discard(job)
            return _error(422, job.shown(str(error)))
        except BaseException:
            board.discard(job)
            raise
        board.submit(job, job_request)
        return JSONResponse(
            {"id": job.id, "status": f"/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/jobs/{job.id}"},
        )

    async def job_status(request: Request) -> Response:
        job = _job(board, request)
        if job is None:
            return _error(404, "no such job (jobs last as long as the server)")
        snapshot = job.snapshot()
        status = job.error_status if snapshot["state"] == "failed" else 200
        return JSONResponse(snapshot, status_code=status)

    async def job_table(request: Request) -> Response:
        job = _job(board, request)
        if job is None or not job.is_ready(SCORES_TABLE):
            return _error(404, "the scores are not ready")
        table = page_table(str(job.directory), config.table_rows)
        return JSONResponse(
            {
                "columns": table.rows.columns,
                "numeric": [
                    name for name, dtype in table.rows.schema.items() if dtype.is_numeric()
                ],
                "decimal": [name for name, dtype in table.rows.schema.items() if dtype.is_float()],
                "rows": _json_rows(table.rows),
                "row_numbers": table.row_numbers,
                "total": table.total,
            }
        )

    async def job_file(request: Request) -> Response:
        job = _job(board, request)
        name = request.path_params["name"]
        # Only the job's named outputs: the name picks from a fixed list, never a path.
        if job is None or name not in DOWNLOADS or not job.is_ready(name):
            return _error(404, "no such file")
        path = job.directory / name
        if name == REPORT_HTML:
            return FileResponse(path, media_type=_MEDIA_TYPES[".html"])
        return FileResponse(
            path, media_type=_MEDIA_TYPES[path.suffix], filename=f"riskengine_{name}"
        )

    async def internal_error(request: Request, error: Exception) -> Response:
        LOGGER.error("internal error on %s", request.url.path, exc_info=error)
        return _error(500, f"internal error: {type(error).__name__} (see the server's log)")

    async def user_error(request: Request, error: Exception) -> Response:
        return _error(422, str(error))

    routes = [
        Route("/", page),
        Route("/jobs", start_job, methods=["POST"]),
        Route("/jobs/{job_id}", job_status),
        Route("/jobs/{job_id}/table", job_table),
        Route("/jobs/{job_id}/files/{name}", job_file),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers: dict[Any, Any] = {error: user_error for error in USER_ERRORS}
    handlers[Exception] = internal_error
    application = Starlette(routes=routes, exception_handlers=handlers)
    application.state.board = board
    return application


def run_server(config: WebConfig, port: int) -> None:
    """Serve the page on 127.0.0.1:``port`` until interrupted."""
    import uvicorn

    application = create_app(config)
    try:
        uvicorn.run(application, host="127.0.0.1", port=port, log_level="info")
    finally:
        application.state.board.close()


def _job(board: JobBoard, request: Request) -> Job | None:
    return board.get(request.path_params["job_id"])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _json_rows(frame: pl.DataFrame) -> list[list[Any]]:
    # JSON has no NaN or infinity, nor dates: such cells go as null and as text.
    plain = frame.with_columns(
        pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
        if not (dtype.is_numeric() or dtype == pl.String or dtype == pl.Boolean)
    )
    return [
        [None if isinstance(value, float) and not math.isfinite(value) else value for value in row]
        for row in plain.iter_rows()
    ]
