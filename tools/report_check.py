"""Open a written report in headless Chromium with the network cut; check every chart drew,
every section is visible and no error reached the console.

    python -m tools.report_check outputs/demo_report.html --screenshot outputs/demo_report.png \
        [--require stress --require alternatives --require changes]

Prints one summary line (charts drawn, sections visible, sortable tables, script and console
errors, the screenshot) and exits 1 when a chart did not draw, a section is hidden, a sortable
table did not sort, an error was logged, or a ``--require``d section shows no table row and no
chart; 2 when Chromium is missing or fails. A development tool (``make report-check``), not
part of the installed package.
"""

from __future__ import annotations

import argparse
import json
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


PROBE_ID = "report-check-probe"
# Runs first in a copy of the page (the screenshot is of the page as written): it records every
# uncaught error, unhandled rejection and console.error, then after the load measures each
# section, clicks the first heading of each sortable table twice, and leaves its findings as JSON
# in the DOM that --dump-dom prints. Chromium's log does not say a console message's level.
PROBE = (
    """<script>(function () {
  var errors = [];
  window.addEventListener("error", function (event) { errors.push(String(event.message)); });
  window.addEventListener("unhandledrejection", function (event) {
    errors.push("unhandled rejection: " + String(event.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () { setTimeout(function () {
    var sections = {};
    document.querySelectorAll("section[id]").forEach(function (section) {
      var style = getComputedStyle(section), box = section.getBoundingClientRect();
      var charts = Array.prototype.slice.call(section.querySelectorAll(".plotly-graph-div"));
      sections[section.id] = {
        visible: style.display !== "none" && style.visibility !== "hidden" &&
          box.width > 0 && box.height > 0,
        rows: section.querySelectorAll("tbody tr").length,
        charts: charts.length,
        drawn: charts.filter(function (chart) { return chart.querySelector(".main-svg"); }).length
      };
    });
    var tables = document.querySelectorAll("table.sortable"), sorted = 0;
    tables.forEach(function (table) {
      var header = table.querySelector("thead th"), count = table.tBodies[0].rows.length;
      try { header.click(); header.click(); } catch (error) { errors.push("sort: " + error); }
      if (header.getAttribute("aria-sort") === "descending" &&
          table.tBodies[0].rows.length === count) { sorted += 1; }
    });
    var out = document.createElement("script");
    out.type = "application/json";
    out.id = "PROBE_ID";
    out.textContent = JSON.stringify(
      {sections: sections, sortable: tables.length, sorted: sorted, errors: errors}
    ).replace(/</g, "\\\\u003c");
    document.body.appendChild(out);
  }, 500); });
})();</script>"""
).replace("PROBE_ID", PROBE_ID)
_PROBE_RESULT = re.compile(
    r'<script type="application/json" id="' + PROBE_ID + r'">(.*?)</script>', re.DOTALL
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
    ran (on a copy of the page with :data:`PROBE` first in its head), once to write a PNG
    screenshot of the page as written, its top ``window_size`` pixels. Host lookups are mapped
    to nothing, so a chart that needed the network would fail to draw.

    Returns
    -------
    dict
        ``charts_expected`` (plotly divs in the DOM), ``charts_drawn`` (those holding a drawn SVG),
        ``charts`` (div id to whether it drew), ``sections`` (section id to ``visible``,
        ``rows`` in its tables, ``charts`` and ``drawn``), ``sortable_tables`` and
        ``sorted_tables`` (those whose first heading sorted them), ``script_errors`` (uncaught
        errors Chromium logged), ``console_errors`` (errors and console.error calls the probe
        saw) and ``screenshot`` (the PNG's path).

    Raises
    ------
    RuntimeError
        When Chromium fails, times out or writes no screenshot.
    """
    url = Path(html_path).resolve().as_uri()
    page = Path(html_path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="riskengine-report-check-") as directory:
        probed = Path(directory) / Path(html_path).name
        probed.write_text(page.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        dump = _run_chromium(
            chromium,
            ["--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
            timeout_seconds,
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
    probe = _probe_result(dump.stdout)
    return {
        "charts_expected": len(charts),
        "charts_drawn": sum(charts.values()),
        "charts": charts,
        "sections": probe["sections"],
        "sortable_tables": probe["sortable"],
        "sorted_tables": probe["sorted"],
        "script_errors": errors,
        "console_errors": probe["errors"],
        "screenshot": str(screenshot_path),
    }


def summary(checked: dict[str, Any]) -> str:
    """The one line the check prints."""
    drawn = ", ".join(name for name, ok in checked["charts"].items() if ok)
    sections = checked["sections"]
    visible = [name for name, found in sections.items() if found["visible"]]
    return (
        f"headless Chromium, offline: {checked['charts_drawn']} of {checked['charts_expected']} "
        f"charts drew ({drawn}); {len(visible)} of {len(sections)} sections visible "
        f"({', '.join(visible)}); {checked['sorted_tables']} of {checked['sortable_tables']} "
        f"sortable tables sorted; {len(checked['script_errors'])} script errors; "
        f"{len(checked['console_errors'])} console errors; screenshot -> {checked['screenshot']}"
    )


def problems(checked: dict[str, Any], required: Sequence[str] = ()) -> list[str]:
    """What went wrong, in words: a chart that did not draw, a hidden section, a sortable table
    that did not sort, an error, or a ``required`` section missing or showing no table row and
    no drawn chart."""
    found = [f"chart {name} did not draw" for name, ok in checked["charts"].items() if not ok]
    sections = checked["sections"]
    found += [f"section {name} is not visible" for name, s in sections.items() if not s["visible"]]
    for name in required:
        section = sections.get(name)
        if section is None:
            found.append(f"section {name} is missing")
        elif not section["rows"] and not section["drawn"]:
            found.append(f"section {name} shows no table row and no chart")
    if checked["sorted_tables"] != checked["sortable_tables"]:
        found.append(
            f"{checked['sortable_tables'] - checked['sorted_tables']} sortable tables did not sort"
        )
    found += [f"script error: {error}" for error in checked["script_errors"]]
    found += [f"console error: {error}" for error in checked["console_errors"]]
    return found


def passed(checked: dict[str, Any], required: Sequence[str] = ()) -> bool:
    """Every chart drew, every section is visible (the ``required`` ones with content), every
    sortable table sorted and no error was logged."""
    return not problems(checked, required)


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
    parser.add_argument(
        "--height",
        type=int,
        default=3000,
        help="Height in pixels of the screenshot (the page's top; 3000).",
    )
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="SECTION",
        help="A section id (stress, alternatives, changes, ...) that must show a table row or a "
        "chart; repeatable.",
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
            arguments.report,
            arguments.screenshot,
            chromium=arguments.chromium,
            window_size=(1400, arguments.height),
        )
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(checked), file=sys.stderr)
    found = problems(checked, arguments.require)
    if found:
        print(
            f"error: {arguments.report}: the report did not draw completely in Chromium: "
            + "; ".join(found),
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


def _probe_result(dom: str) -> dict[str, Any]:
    """What :data:`PROBE` left in a dumped DOM; a page where it never ran (a script error before
    the load, a page with no head) reads as one error."""
    match = _PROBE_RESULT.search(dom)
    if match is None:
        return {"sections": {}, "sortable": 0, "sorted": 0, "errors": ["the probe did not run"]}
    result: dict[str, Any] = json.loads(match.group(1))
    return result


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
