"""Child process of the memory benchmark: score one file through ``score_file`` and report.

Run by ``bench.run`` so that the parent can read this process's peak RSS alone. SIGUSR1 dumps
the Python stack to stderr (the parent sends it before stopping a run that is too slow or too
large, to say where it was).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import signal
import time
from collections.abc import Sequence
from datetime import date


def main(argv: Sequence[str] | None = None) -> None:
    """Score ``input`` into ``output`` as of ``--as-of``; print seconds and counts as JSON."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    parser = argparse.ArgumentParser(prog="python -m bench.score_child")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    arguments = parser.parse_args(argv)

    from riskengine.app.requests import ScoringRequest
    from riskengine.app.scoring import score_file
    from riskengine.config import load_settings

    started = time.perf_counter()
    outcome = score_file(
        load_settings(),
        ScoringRequest.from_paths(arguments.input, arguments.output, arguments.as_of),
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": outcome.rows,
                "scored": outcome.scored,
            }
        )
    )


if __name__ == "__main__":
    main()
