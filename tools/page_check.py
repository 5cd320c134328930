"""Drive the buyers' page (``riskengine serve``) in headless Chromium as a buyer would: upload a
sourcing list, wait for the scored table, sort it by risk, download the CSV, take a screenshot.

    python -m tools.page_check http://127.0.0.1:8000 riskengine/demo/sourcing.csv \\
        --as-of 2026-03-01 --buyer-country JP --downloads outputs/page --screenshot page.png

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``), so
no WebSocket client is needed; it runs with the flags of :mod:`tools.report_check`, every host
but the loopback address unresolvable, so the page is shown to need no network. A development
tool (tests/web/test_page_in_chromium.py uses it), not part of the installed package.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.report_check import CHROMIUM_FLAGS, DEFAULT_CHROMIUM

# The report check's flags, but the loopback address resolves: the page is served there.
PAGE_FLAGS = tuple(
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    if flag.startswith("--host-resolver-rules")
    else flag
    for flag in CHROMIUM_FLAGS
)
# Chromium reads the protocol's commands from descriptor 3 and writes to descriptor 4.
COMMAND_FD = 3
REPLY_FD = 4


class DevTools:
    """One Chromium process and its DevTools protocol over a pipe (messages end with NUL)."""

    def __init__(self, chromium: str, profile: str, window_size: tuple[int, int]) -> None:
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()

        def child_descriptors() -> None:
            # Duplicated first so that neither end can clobber the other on the way to 3 and 4.
            command, reply = os.dup(command_read), os.dup(reply_write)
            os.dup2(command, COMMAND_FD)
            os.dup2(reply, REPLY_FD)

        self.process = subprocess.Popen(
            [
                chromium,
                *PAGE_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={window_size[0]},{window_size[1]}",
                "--hide-scrollbars",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Python's own descriptors are not inheritable (PEP 446): only 3 and 4, made by
            # dup2 in the child, reach Chromium.
            close_fds=False,
            preexec_fn=child_descriptors,
            # A session of its own lets close() end Chromium's helper processes too.
            start_new_session=True,
        )
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._command_write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._reply_read, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def close(self) -> None:
        """End Chromium and its helpers."""
        for descriptor in (self._command_write, self._reply_read):
            with suppress(OSError):
                os.close(descriptor)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


#: The page's error box text when it shows, else ''; '' too while the page has no such box.
_ERROR_SHOWN = (
    "(() => { const box = document.getElementById('error');"
    " return box && !box.hidden ? box.textContent : ''; })()"
)


@dataclass
class Page:
    """One tab attached to a :class:`DevTools` session."""

    browser: DevTools
    session: str
    timeout_seconds: float
    script_errors: list[str] = field(default_factory=list)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, self.session, **params)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when a promise)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        """Poll ``expression`` until it is truthy; fail after the page's timeout."""
        deadline = time.monotonic() + self.timeout_seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            # Before the page has loaded (about:blank, or mid-navigation) there is no error box.
            error = self.evaluate(_ERROR_SHOWN)
            if error:
                raise RuntimeError(f"the page shows an error while waiting for {what}: {error}")
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not happen within {self.timeout_seconds:g} s")

    def set_file(self, selector: str, path: Path) -> None:
        """Choose ``path`` in the file input ``selector``, as a user's file dialog would."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.send("DOM.setFileInputFiles", nodeId=node, files=[str(Path(path).resolve())])

    def collect_errors(self) -> list[str]:
        """Uncaught script errors and console errors seen so far."""
        for event in self.browser.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                self.script_errors.append(str(details.get("exception", details)))
            elif (
                event.get("method") == "Runtime.consoleAPICalled"
                and event["params"].get("type") == "error"
            ):
                self.script_errors.append(str(event["params"].get("args")))
        self.browser.events.clear()
        return self.script_errors


@contextmanager
def open_page(
    url: str,
    downloads: Path,
    chromium: str = DEFAULT_CHROMIUM,
    timeout_seconds: float = 180.0,
    window_size: tuple[int, int] = (1400, 1000),
) -> Iterator[Page]:
    """Chromium with ``url`` loaded in a tab; downloads go to ``downloads``."""
    with tempfile.TemporaryDirectory(prefix="riskengine-chromium-") as profile:
        browser = DevTools(chromium, profile, window_size)
        try:
            downloads.mkdir(parents=True, exist_ok=True)
            browser.send(
                "Browser.setDownloadBehavior",
                behavior="allow",
                downloadPath=str(downloads.resolve()),
                eventsEnabled=True,
            )
            target = browser.send("Target.createTarget", url="about:blank")["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)
            page = Page(browser, session["sessionId"], timeout_seconds)
            page.send("Runtime.enable")
            page.send("Page.enable")
            page.send("Page.navigate", url=url)
            page.wait_for(
                "document.readyState === 'complete' && !!document.getElementById('sourcing')",
                "the page's load",
            )
            yield page
        finally:
            browser.close()


def score_through_page(
    page: Page,
    sourcing: Path,
    *,
    as_of: str,
    buyer_country: str = "",
    buyer: str = "",
    bom: Path | None = None,
) -> dict[str, Any]:
    """Upload the form, wait for the table and the downloads, sort by risk (riskiest first).

    Returns
    -------
    dict
        ``rows`` (table rows shown), ``risk_scores`` (the risk column top to bottom after the
        sort, as shown), ``sort`` (the heading's aria-sort), ``downloads`` (the links' texts)
        and ``summary`` (the summary line).
    """
    page.set_file("#sourcing", sourcing)
    if bom is not None:
        page.set_file("#bom", bom)
    fields = {"as_of": as_of, "buyer_country": buyer_country, "buyer": buyer}
    page.evaluate(
        f"Object.entries({json.dumps(fields)}).forEach(([id, value]) => "
        "{ document.getElementById(id).value = value; }); "
        "document.getElementById('score-button').click(); true"
    )
    page.wait_for("document.querySelectorAll('#scores-table tbody tr').length > 0", "the table")
    page.wait_for(
        "!!document.querySelector('#downloads a[href$=\"report.html\"]')", "the downloads"
    )
    # A number column sorts riskiest first on its first click.
    page.evaluate("document.querySelector('th[data-column=\"risk_score\"]').click(); true")
    column = page.evaluate(
        "[...document.querySelectorAll('#scores-table th')]"
        ".findIndex((cell) => cell.dataset.column === 'risk_score')"
    )
    return {
        "rows": page.evaluate("document.querySelectorAll('#scores-table tbody tr').length"),
        "risk_scores": page.evaluate(
            "[...document.querySelectorAll('#scores-table tbody tr')]"
            f".map((row) => row.cells[{column}].textContent)"
        ),
        "sort": page.evaluate(
            "document.querySelector('th[data-column=\"risk_score\"]').getAttribute('aria-sort')"
        ),
        "downloads": page.evaluate(
            "[...document.querySelectorAll('#downloads a')].map((link) => link.textContent)"
        ),
        "summary": page.evaluate("document.getElementById('summary').textContent"),
    }


def download(page: Page, link_id: str, downloads: Path, name: str) -> Path:
    """Click the download link ``link_id`` and wait for ``name`` to be complete in
    ``downloads``."""
    page.evaluate(f"document.getElementById({json.dumps(link_id)}).click(); true")
    deadline = time.monotonic() + page.timeout_seconds
    while time.monotonic() < deadline:
        page.send("Runtime.evaluate", expression="1")  # lets the download's events arrive
        done = [
            event
            for event in page.browser.events
            if event.get("method") == "Browser.downloadProgress"
            and event["params"].get("state") == "completed"
        ]
        target = downloads / name
        if done and target.is_file():
            return target
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not downloaded within {page.timeout_seconds:g} s")


def screenshot(page: Page, path: Path) -> Path:
    """A PNG of the whole page as it is now."""
    import base64

    shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.page_check",
        description="Upload a sourcing list through the riskengine serve page in headless "
        "Chromium, wait for the scored table, sort by risk, download the CSV and take a "
        "screenshot.",
    )
    parser.add_argument("url", help="The page, e.g. http://127.0.0.1:8000")
    parser.add_argument("sourcing", type=Path, help="The sourcing list to upload.")
    parser.add_argument("--bom", type=Path, help="A BOM to upload with it.")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--buyer-country", default="")
    parser.add_argument("--buyer", default="")
    parser.add_argument("--downloads", type=Path, required=True, help="Where downloads go.")
    parser.add_argument("--screenshot", type=Path, required=True, help="PNG to write.")
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM)
    arguments = parser.parse_args(argv)
    if not Path(arguments.chromium).exists():
        print(f"error: no Chromium at {arguments.chromium} (make browser)", file=sys.stderr)
        return 2
    try:
        with open_page(arguments.url, arguments.downloads, arguments.chromium) as page:
            shown = score_through_page(
                page,
                arguments.sourcing,
                as_of=arguments.as_of,
                buyer_country=arguments.buyer_country,
                buyer=arguments.buyer,
                bom=arguments.bom,
            )
            csv = download(
                page, "download-scores-csv", arguments.downloads, "riskengine_scores.csv"
            )
            screenshot(page, arguments.screenshot)
            errors = page.collect_errors()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"headless Chromium: {shown['rows']} rows shown, sorted by risk ({shown['sort']}); "
        f"downloads: {', '.join(shown['downloads'])}; CSV -> {csv}; {len(errors)} script "
        f"errors; screenshot -> {arguments.screenshot}",
        file=sys.stderr,
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
