"""``riskengine serve``: the buyers' page on the loopback interface."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskengine.cli.apps import app
from riskengine.cli.options import ModelOption, ReferenceDirOption
from riskengine.cli.runtime import run_command, say
from riskengine.config import load_settings

#: The default cap on one upload, in MB (10^6 bytes); as ``DEFAULT_MAX_UPLOAD_BYTES``.
DEFAULT_MAX_UPLOAD_MB = 50.0


@app.command()
def serve(
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1 to serve on.")
    ] = 8000,
    work_dir: Annotated[
        Path,
        typer.Option(
            "--work-dir",
            help="Directory for the uploads and results, one subdirectory per job; nothing is "
            "written outside it.",
        ),
    ] = Path("outputs/serve"),
    max_upload_mb: Annotated[
        float,
        typer.Option(
            "--max-upload-mb",
            min=0.001,
            envvar="RISKENGINE_MAX_UPLOAD_MB",
            help="Largest upload (sourcing list and BOM together) in MB of 10^6 bytes.",
        ),
    ] = DEFAULT_MAX_UPLOAD_MB,
    model: ModelOption = "champion",
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Serve a page where buyers upload a sourcing list (and a BOM), follow the scoring, sort
    and filter the scored table, download CSV and XLSX and open the HTML report.

    Example: riskengine serve --port 8000 --work-dir outputs/serve  (then open
    http://127.0.0.1:8000)
    """

    def body() -> None:
        from riskengine.web.server import WebConfig, run_server

        config = WebConfig(
            settings=load_settings(reference_dir=reference_dir),
            work_dir=work_dir,
            max_upload_bytes=round(max_upload_mb * 1_000_000),
            model_alias=model,
        )
        say(
            f"riskengine serve: http://127.0.0.1:{port} (work directory {work_dir.resolve()}, "
            f"uploads up to {max_upload_mb:g} MB; Ctrl-C stops)"
        )
        run_server(config, port)

    run_command(body)
