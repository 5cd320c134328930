"""The page's jobs: each in its own directory under the work directory, run one at a time on a
worker thread, its progress kept for the page to poll."""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskengine.app.buyer_job import DOWNLOADS, SCORES_TABLE, BuyerJobOutcome, run_buyer_job
from riskengine.app.requests import BuyerJobRequest
from riskengine.config import Settings
from riskengine.errors import ModelIntegrityError, ModelNotFoundError, UserInputError

LOGGER = logging.getLogger("riskengine.web")
#: What the command line answers with exit code 2: the user can act on the message.
USER_ERRORS = (UserInputError, ModelNotFoundError, ModelIntegrityError)
JOBS_DIRECTORY = "jobs"


@dataclass
class Job:
    """One upload's scoring: its state as the page sees it."""

    id: str
    directory: Path
    shown_paths: dict[str, str] = field(default_factory=dict)
    """Server paths and the names the user knows them by, for messages."""
    state: str = "queued"
    stages: list[str] = field(default_factory=list)
    progress: tuple[int, int] | None = None
    ready: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None
    error_status: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def shown(self, text: str) -> str:
        """``text`` with every server path replaced by the name the user gave the file."""
        for path, name in sorted(self.shown_paths.items(), key=lambda item: -len(item[0])):
            text = text.replace(path, name)
        return text.replace(f"{self.directory}/", "")

    def on_stage(self, text: str) -> None:
        with self.lock:
            self.stages.append(self.shown(text))

    def on_progress(self, done: int, total: int) -> None:
        with self.lock:
            self.progress = (done, total)

    def on_ready(self, name: str) -> None:
        with self.lock:
            self.ready.append(name)

    def is_ready(self, name: str) -> bool:
        with self.lock:
            return name in self.ready

    def snapshot(self) -> dict[str, Any]:
        """The job's state for the page, as JSON-ready values."""
        with self.lock:
            return {
                "id": self.id,
                "state": self.state,
                "stages": list(self.stages),
                "progress": None
                if self.progress is None
                else {"done": self.progress[0], "total": self.progress[1]},
                "table": SCORES_TABLE in self.ready,
                "files": [name for name in DOWNLOADS if name in self.ready],
                "notes": list(self.notes),
                "summary": self.summary,
                "error": self.error,
            }


class JobBoard:
    """The jobs of one server: directories, the worker, and the jobs by id."""

    def __init__(self, settings: Settings, work_dir: Path) -> None:
        self.settings = settings
        self.jobs_dir = work_dir.resolve() / JOBS_DIRECTORY
        self._jobs: dict[str, Job] = {}
        # One job at a time: scoring uses the machine's cores; later uploads wait their turn.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskengine-job")

    def new_job(self) -> Job:
        """A job with a new, empty directory of its own (its name is random, never the
        client's)."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        job_id = secrets.token_hex(16)
        directory = self.jobs_dir / job_id
        directory.mkdir(mode=0o700)
        return Job(job_id, directory)

    def discard(self, job: Job) -> None:
        """Remove a job that was refused or failed: nothing of it is kept or offered."""
        shutil.rmtree(job.directory, ignore_errors=True)

    def submit(self, job: Job, request: BuyerJobRequest) -> None:
        """Queue ``job`` on the worker; the page follows it with :meth:`get`."""
        self._jobs[job.id] = job
        self._worker.submit(self._run, job, request)

    def get(self, job_id: str) -> Job | None:
        """The job of that id, if this server started it."""
        return self._jobs.get(job_id)

    def close(self) -> None:
        """Stop taking jobs; the one running finishes, queued ones are dropped."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, request: BuyerJobRequest) -> None:
        with job.lock:
            job.state = "running"
        try:
            outcome = run_buyer_job(
                self.settings,
                request,
                on_stage=job.on_stage,
                on_progress=job.on_progress,
                on_ready=job.on_ready,
            )
        except USER_ERRORS as error:
            self._fail(job, 422, job.shown(str(error)))
        except Exception as error:
            LOGGER.exception("job %s failed", job.id)
            self._fail(job, 500, job.shown(f"internal error: {type(error).__name__}: {error}"))
        else:
            with job.lock:
                job.summary = _summary(outcome, job.shown) | {"as_of": request.as_of.isoformat()}
                job.notes = [job.shown(note) for note in outcome.notes]
                job.state = "done"

    def _fail(self, job: Job, status: int, message: str) -> None:
        with job.lock:
            job.ready.clear()
        # Removed before the page hears of the failure: nothing of it outlives the answer.
        self.discard(job)
        with job.lock:
            job.state = "failed"
            job.error = message
            job.error_status = status


def _summary(outcome: BuyerJobOutcome, shown: Callable[[str], str]) -> dict[str, Any]:
    scores = outcome.scores
    summary: dict[str, Any] = {
        "rows": scores.rows,
        "scored": scores.scored,
        "rejected": scores.rejected,
        "model_version": scores.model_version,
        "reference_fingerprint": scores.reference_fingerprint,
        "reasons": [{"reason": reason, "count": count} for reason, count in scores.reasons],
    }
    if outcome.products is not None:
        summary["products"] = outcome.products.summary
        summary["problems"] = [
            shown(f"{problem.kind}: {problem.message}") for problem in outcome.products.problems
        ]
    return summary
