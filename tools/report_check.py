"""Open a written report in headless Chromium with the network cut; check every chart drew.

    python -m tools.report_check outputs/demo_report.html --screenshot outputs/demo_report.png

Prints one summary line (charts drawn, script errors, the screenshot) and exits 1 when a chart
did not draw or a script error was logged, 2 when Chromium is missing or fails. A development
tool (``make report-check``), not part of the installed package.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_CHROMIUM = "/usr/bin/chromium"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host resolves, so the check proves the page needs no network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
)


def check_report_in_browser(
    html_path: Path,
    screenshot_path: Path,
    chromium: str = DEFAULT_CHROMIUM,
    timeout_seconds: float = 120.0,
    window_size: tuple[int, int] = (1400, 3000),
) -> dict[str, Any]:
    """Open the report in headless Chromium with no network; count the charts that drew.

    Chromium runs twice with a fresh profile each time: once to dump the DOM after the scripts
    ran, once to write a PNG screenshot of the page's top ``window_size`` pixels. Host lookups
    are mapped to nothing, so a chart that needed the network would fail to draw.

    Returns
    -------
    dict
        ``charts_expected`` (plotly divs in the DOM), ``charts_drawn`` (those holding a drawn SVG),
        ``charts`` (div id to whether it drew), ``script_errors`` (uncaught errors Chromium
        logged) and ``screenshot`` (the PNG's path).

    Raises
    ------
    RuntimeError
        When Chromium fails, times out or writes no screenshot.
    """
    url = Path(html_path).resolve().as_uri()
    dump = _run_chromium(
        chromium, ["--virtual-time-budget=5000", "--dump-dom", url], timeout_seconds
    )
    shot = _run_chromium(
        chromium,
        [
            "--virtual-time-budget=5000",
            "--hide-scrollbars",
            f"--window-size={window_size[0]},{window_size[1]}",
            f"--screenshot={Path(screenshot_path).resolve()}",
            url,
        ],
        timeout_seconds,
    )
    if not Path(screenshot_path).is_file():
        raise RuntimeError(
            f"chromium wrote no screenshot at {screenshot_path}: {shot.stderr[-2000:]}"
        )
    charts = _drawn_charts(dump.stdout)
    errors = [
        line
        for line in (dump.stderr + shot.stderr).splitlines()
        if "Uncaught" in line and "CONSOLE" in line
    ]
    return {
        "charts_expected": len(charts),
        "charts_drawn": sum(charts.values()),
        "charts": charts,
        "script_errors": errors,
        "screenshot": str(screenshot_path),
    }


def summary(checked: dict[str, Any]) -> str:
    """The one line the check prints."""
    drawn = ", ".join(name for name, ok in checked["charts"].items() if ok)
    return (
        f"headless Chromium, offline: {checked['charts_drawn']} of {checked['charts_expected']} "
        f"charts drew ({drawn}); {len(checked['script_errors'])} script errors; "
        f"screenshot -> {checked['screenshot']}"
    )


def passed(checked: dict[str, Any]) -> bool:
    """Every chart drew and no script error was logged."""
    return checked["charts_drawn"] == checked["charts_expected"] and not checked["script_errors"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.report_check",
        description="Render a riskengine HTML report in headless Chromium (offline), check "
        "that every chart drew and write a PNG screenshot.",
    )
    parser.add_argument("report", type=Path, help="The HTML report (riskengine report -o ...).")
    parser.add_argument(
        "--screenshot", type=Path, required=True, help="Where to write the PNG of the page."
    )
    parser.add_argument(
        "--chromium", default=DEFAULT_CHROMIUM, help=f"Chromium binary ({DEFAULT_CHROMIUM})."
    )
    arguments = parser.parse_args(argv)
    if not arguments.report.is_file():
        print(f"error: no report at {arguments.report}", file=sys.stderr)
        return 2
    if not Path(arguments.chromium).exists():
        print(
            f"error: no Chromium at {arguments.chromium} (make browser installs Debian's "
            "chromium package)",
            file=sys.stderr,
        )
        return 2
    try:
        checked = check_report_in_browser(
            arguments.report, arguments.screenshot, chromium=arguments.chromium
        )
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(checked), file=sys.stderr)
    if not passed(checked):
        print(
            f"error: {arguments.report}: the report did not draw completely in Chromium: "
            f"{checked['script_errors'] or checked['charts']}",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_chromium(
    chromium: str, arguments: list[str], timeout_seconds: float
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="riskengine-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
        # A session of its own lets a timeout end Chromium's helper processes too.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(
                f"chromium did not finish within {timeout_seconds:g} s: {' '.join(arguments)}"
            ) from None
    if process.returncode != 0:
        raise RuntimeError(f"chromium exited with code {process.returncode}: {stderr[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


_DIV_TAG = re.compile(r"<div\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(id|class)="([^"]*)"')


def _drawn_charts(dom: str) -> dict[str, bool]:
    """Plotly divs in a dumped DOM, by id, and whether each holds a drawn SVG.

    The charts are siblings in page order, so the text from one chart's div to the next belongs
    to the first; a drawn chart has plotly's ``main-svg`` inside it.
    """
    starts: list[tuple[int, str]] = []
    for match in _DIV_TAG.finditer(dom):
        attributes = dict(_ATTRIBUTE.findall(match.group(0)))
        if "plotly-graph-div" in attributes.get("class", "").split():
            starts.append((match.start(), attributes.get("id", f"unnamed-{len(starts)}")))
    charts = {}
    for index, (start, div_id) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(dom)
        charts[div_id] = 'class="main-svg"' in dom[start:end]
    return charts


if __name__ == "__main__":
    sys.exit(main())
