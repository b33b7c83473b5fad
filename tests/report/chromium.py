"""A headless Chromium driven by chromedriver, for the HTML report tests (skipped without it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def chromium() -> tuple[str, str] | None:
    """Paths of Chromium and chromedriver, or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    found = chromium()
    if found is None:
        pytest.skip(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, path: Path) -> list[dict[str, Any]]:
    """Load a file and return the console entries it logged at level SEVERE (errors)."""
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def images_loaded(driver: Any) -> list[bool]:
    """Force lazy images to load, then report each image's decode state."""
    return driver.execute_async_script(  # type: ignore[no-any-return]
        """
        const done = arguments[arguments.length - 1];
        const images = Array.from(document.images);
        images.forEach(i => { i.loading = "eager"; });
        Promise.all(images.map(i => i.decode().then(() => true, () => false)))
            .then(() => done(images.map(i => i.complete && i.naturalWidth > 0)));
        """
    )


def has_alert(driver: Any) -> bool:
    """Whether a JavaScript alert is open."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return False
    return True
