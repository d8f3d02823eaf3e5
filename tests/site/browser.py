"""Headless Chromium for the site tests: found on this machine or not, and started with no network use."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,1000")


def find_browser() -> tuple[str | None, str | None, str]:
    """(browser binary, chromedriver, reason when either is missing)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None, "selenium is not installed (pip install -e '.[test]')"
    browser = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        return browser, driver, ("no headless Chromium and chromedriver on PATH: run tools/install-browser.sh "
                                 "(Debian: apt-get install chromium chromium-driver)")
    return browser, driver, ""


def start_driver(browser: str, driver: str, profile_dir: Path | None = None):
    """A Chrome WebDriver on ``browser`` through ``driver`` (never selenium-manager, which would download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir or tempfile.mkdtemp(prefix='grbench-chromium-')}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def screenshot(url: str, out: Path, width: int = 1500, height: int = 1000) -> None:
    """Save a PNG of ``url`` (used to refresh docs/site-board.png: python -m tests.site.browser URL OUT)."""
    browser, driver, reason = find_browser()
    if reason:
        raise SystemExit(reason)
    d = start_driver(browser, driver)
    try:
        d.set_window_size(width, height)
        d.get(url)
        d.save_screenshot(str(out))
    finally:
        d.quit()


if __name__ == "__main__":
    import sys

    screenshot(sys.argv[1], Path(sys.argv[2]))
