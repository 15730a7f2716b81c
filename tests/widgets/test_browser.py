"""Real browser: Voila serves the quickstart, headless Chromium types a query into its SearchBox.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright's Python
package with that executable: nothing downloads a browser. Without them the test is skipped locally and
fails when ``CI`` is set. The screenshot goes to ``$MUSICSEARCH_TEST_ARTIFACTS`` (default
``tests/artifacts/``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "00_quickstart.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PAGE_TIMEOUT_S = 100  # Voila runs the whole notebook (a tiny model is trained) before it sends the page


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI: apt-get install chromium; pip install playwright voila)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_server(port: int, process: subprocess.Popen, deadline: float) -> None:
    # A TCP connect, not an HTTP request: any page of Voila starts a kernel that runs the whole notebook.
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"voila exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("voila did not start listening in time")


@pytest.fixture
def voila_url(musicsearch_home, tmp_path):
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")
    if voila is None:
        _missing("voila is not installed")
    port = _free_port()
    # CI=1 puts the notebook in smoke mode (a tiny model trained in seconds), as nbval runs it.
    env = {
        **os.environ,
        "CI": "1",
        "MUSICSEARCH_HOME": str(musicsearch_home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen(
        [voila, str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_server(port, process, time.monotonic() + 30)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if os.environ.get("CI") or process.returncode not in (0, -15, None):
            print((tmp_path / "voila.log").read_text(errors="replace")[-3000:])


def test_quickstart_search_box_in_chromium(voila_url):
    if not Path(CHROMIUM).is_file():
        _missing(f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (Python package) is not installed")
    artifacts = Path(os.environ.get("MUSICSEARCH_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(voila_url, timeout=PAGE_TIMEOUT_S * 1000, wait_until="load")
            box = page.locator(".ms-searchbox").first
            query = box.locator(".ms-query input")
            query.wait_for(state="visible", timeout=30_000)
            assert box.locator(".ms-hits svg").count() == 0  # nothing shown before a query
            query.fill("a lively jig in D major")
            query.press("Enter")
            page.wait_for_selector(".ms-searchbox .ms-hits .ms-hit svg", timeout=30_000)
            hits = box.locator(".ms-hits .ms-hit")
            assert hits.count() == 5
            assert "score" in hits.first.inner_text()
            # The quickstart's map (plotly inside an ipywidgets Output) is drawn too.
            assert page.locator(".ms-embedding-map .js-plotly-plot").count() == 1
            box.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "quickstart_search_box.png"), full_page=False)
        finally:
            browser.close()
