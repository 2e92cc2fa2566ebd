"""A real browser for tests: Playwright driving Debian's chromium (`make setup` installs it).

`playwright install` downloads browsers and cannot work offline, so the system chromium is
launched by path. Each person gets a browser context of their own (their own cookies);
screenshots go to var/screenshots/ (git-ignored) so a reviewer can look at every page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 860}  # a laptop screen


@contextmanager
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's chromium is required at {CHROMIUM} for the browser tests: `make setup` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One person at one browser: their own context (cookies), a page, and the page's script errors."""

    def __init__(self, browser: Any, base_url: str, name: str) -> None:
        self.base_url = base_url
        self.name = name
        self.context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, token: str) -> Any:
        self.page.goto("/login")
        self.page.fill("#token", token)
        self.page.click("#sign-in")
        self.page.wait_for_load_state()
        return self.page

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
