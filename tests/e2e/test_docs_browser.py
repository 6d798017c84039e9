"""/docs in a real headless Chromium with no network beyond the server: the operation list renders,
and "Try it out" on POST /v1/chat/completions, authorized with a key, gets a 200.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
test skips, except on CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

selenium = pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ready  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHAT = "#operations-Chat-V1ChatCompletionsCreateChatCompletion"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    reason = "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: it {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # Every host but the server resolves to nothing: a CDN asset or a web font could not load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _click(driver, wait: WebDriverWait, css: str) -> None:
    element = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, css)))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_swagger_ui_renders_and_try_it_out_gets_a_200(browser, live_server):
    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_server.root_url}/docs")

    # The operation list, from the document this server generated.
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 26)
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/v1/chat/completions", "/v1/responses", "/v1/files", "/v1/embeddings"} <= paths
    assert not browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper")  # the UI read the document cleanly

    # Authorize with a key through the dialog (HTTP bearer).
    _click(browser, wait, ".auth-wrapper .authorize")
    key_input = wait.until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input[aria-label='auth-bearer-value']"))
    )
    key_input.send_keys(live_server.api_key)
    key_input.find_element(By.XPATH, "./ancestor::form//button[contains(@class, 'authorize')]").click()
    _click(browser, wait, ".modal-ux .btn-done, .modal-ux .close-modal")

    # Try it out with the documented example body.
    _click(browser, wait, f"{CHAT} .opblock-summary-control")
    _click(browser, wait, f"{CHAT} .try-out__btn")
    body = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, f"{CHAT} textarea.body-param__text")))
    assert json.loads(body.get_attribute("value"))["messages"][0]["content"] == "Hello!"
    _click(browser, wait, f"{CHAT} .execute")
    answer_row = f"{CHAT} .live-responses-table tr.response"
    status = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, f"{answer_row} .response-col_status")))
    assert status.text.strip() == "200"
    answer = browser.find_element(By.CSS_SELECTOR, f"{answer_row} .response-col_description")
    assert "chat.completion" in answer.text

    # Nothing came from anywhere but the server (assets, fonts, the document, the request).
    urls = _requested_urls(browser)
    assert any(url.endswith("/docs/swagger-ui/swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("/v1/chat/completions") for url in urls)
    network = [url for url in urls if url.startswith(("http:", "https:", "ws:", "wss:"))]  # not chrome://, data:
    foreign = [url for url in network if not url.startswith(live_server.root_url + "/")]
    assert not foreign, foreign
