"""The generated site in a real browser (headless Chromium): sort, filter, follow a link, and a hostile
submission that must render as text. Screenshots of the board and a method page are left in the test's
tmp directory (pytest prints it with -rA; see ``tmp_path``) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.site import build_site
from tests.site.browser import find_browser, start_driver
from tests.site.conftest import HOSTILE_DIR, PAYLOAD, PROFILE

BROWSER, DRIVER, MISSING = find_browser()
pytestmark = pytest.mark.skipif(bool(MISSING), reason=MISSING or "browser available")


@pytest.fixture(scope="module")
def site(hostile_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    build_site(hostile_results, out)
    return out


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    d = start_driver(BROWSER, DRIVER, tmp_path_factory.mktemp("chromium-profile"))
    d.set_window_size(1500, 1000)
    yield d
    d.quit()


def visible_rows(driver, view: str = "all"):
    from selenium.webdriver.common.by import By

    section = driver.find_element(By.CSS_SELECTOR, f'section.view[data-view="{view}"]')
    return [r for r in section.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]


def column_index(driver, label: str, view: str = "all") -> int:
    from selenium.webdriver.common.by import By

    headers = driver.find_elements(By.CSS_SELECTOR, f'section.view[data-view="{view}"] thead th')
    return next(i for i, th in enumerate(headers)
                if any(b.text == label for b in th.find_elements(By.TAG_NAME, "button")))


def link_url(site: Path, method: str, profile: str) -> str:
    return (site / "methods" / f"{method}.html").as_uri() + f"#{profile}"


def test_board_sorts_filters_and_links(site: Path, driver, tmp_path: Path):
    from selenium.webdriver.common.by import By

    driver.get((site / f"board-{PROFILE}-table1.html").as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("amazon18-scientific · protocol 1")
    # only the "all" view is shown once the script ran
    shown = [s.get_attribute("data-view") for s in driver.find_elements(By.CSS_SELECTOR, "section.view") if s.is_displayed()]
    assert shown == ["all"]
    driver.save_screenshot(str(tmp_path / "board.png"))

    # sort by a metric column: descending, then ascending
    column = column_index(driver, "R@10")
    button = driver.find_elements(By.CSS_SELECTOR, 'section.view[data-view="all"] thead th')[column].find_element(
        By.TAG_NAME, "button")
    for expected in ("descending", "ascending"):
        button.click()
        values = [float(r.find_elements(By.TAG_NAME, "td")[column].get_attribute("data-sort"))
                  for r in visible_rows(driver)]
        assert values == sorted(values, reverse=expected == "descending") and len(values) >= 9
        assert button.find_element(By.XPATH, "..").get_attribute("aria-sort") == expected

    # filter out a family: its rows disappear, the others stay
    before = visible_rows(driver)
    sft_rows = sum(r.get_attribute("data-family") == "sft" for r in before)
    driver.find_element(By.CSS_SELECTOR, 'input[name="family"][value="sft"]').click()
    rows = visible_rows(driver)
    assert sft_rows >= 1 and len(rows) == len(before) - sft_rows
    assert all(r.get_attribute("data-family") != "sft" for r in rows)

    # switch to unseen queries: only that view is shown
    driver.find_element(By.CSS_SELECTOR, 'input[name="view"][value="unseen"]').click()
    assert [s.get_attribute("data-view") for s in driver.find_elements(By.CSS_SELECTOR, "section.view")
            if s.is_displayed()] == ["unseen"]

    # follow a method link
    row = next(r for r in visible_rows(driver, "unseen") if r.get_attribute("data-family") == "dpo")
    link = row.find_element(By.CSS_SELECTOR, "a.method")
    method = link.get_attribute("href").split("/methods/")[1].split(".html")[0]
    assert method in ("dpo", "simpo", "orpo", "sdpo") or method.startswith("raddpo")
    link.click()
    assert driver.current_url == link_url(site, method, PROFILE)
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Method {method}"
    assert driver.find_elements(By.CSS_SELECTOR, "article.card")
    driver.save_screenshot(str(tmp_path / "method.png"))


def test_hostile_submission_is_text_in_the_browser(site: Path, driver):
    from selenium.webdriver.common.by import By

    pages = [f"board-{PROFILE}-table1.html", "methods.html", "index.html",
             *(str(p.relative_to(site)) for p in sorted((site / "submissions").glob("*.html")))]
    seen_text = 0
    for rel in pages:
        driver.get((site / rel).as_uri())
        assert driver.execute_script("return window.__pwned === undefined")
        assert not driver.find_elements(By.CSS_SELECTOR, ".hostile, img[src='x'], iframe, object, [onerror]")
        scripts = driver.find_elements(By.TAG_NAME, "script")
        assert [s.get_attribute("src").endswith("/static/site.js") for s in scripts] == [True]
        assert not [a for a in driver.find_elements(By.TAG_NAME, "a")
                    if "example.org" in (a.get_attribute("href") or "")]
        body = driver.find_element(By.TAG_NAME, "body").text
        seen_text += body.count(PAYLOAD) + body.count(HOSTILE_DIR)
    assert seen_text >= 6
