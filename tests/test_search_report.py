"""fgir report: one self-contained page a real browser renders (headless Chromium), and .svg/.png figures.

The browser test needs selenium (the test extra) and Debian's chromium and chromium-driver (make setup
installs them as root); without them it fails, saying what to install.
"""

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import EXAMPLES, run_fgir
from fgir.search import run_search
from search_helpers import rows_of

BACKBONE = EXAMPLES / "backbone_nas.yaml"


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("search")
    run_search(BACKBONE, out, budget=30, seed=0, constraints={"max_macs": 150_000_000}, in_budget=False)
    return out


def plottable(rows, x="macs", y="params"):
    return [r for r in rows if r.get(x) is not None and r.get(y) is not None]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the report test needs selenium: pip install -e '.[test]' (the test extra has it)")
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                  None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail("the report test needs a headless Chromium and its driver: apt-get install chromium "
                    "chromium-driver (make setup does it, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    yield driver
    driver.quit()


def test_the_page_renders_every_candidate_in_a_real_browser_without_console_errors(searched, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "report.html"
    done = run_fgir("report", str(searched), "-o", str(page))
    assert done.returncode == 0 and done.stderr == f"wrote {page}\n", done.stderr
    text = page.read_text()
    assert " src=" not in text and " href=" not in text and "@import" not in text   # nothing from the network
    rows = rows_of(searched)
    browser.get(page.as_uri())
    visible = browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden]) .pt")
    assert len(visible) == len(plottable(rows)) == 30
    infeasible = browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden]) .pt.infeasible")
    assert len(infeasible) == sum(r["status"] == "invalid" for r in rows) > 0
    front = browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden]) .pt.front")
    assert 0 < len(front) < 30 and browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden]) .front-line")
    point = front[0]
    ActionChains(browser).move_to_element(point).perform()
    tip = browser.find_element(By.ID, "tip")
    row = next(r for r in rows if r["index"] == int(point.get_attribute("data-i")))
    assert tip.is_displayed() and tip.text.startswith(f"#{row['index']}  {row['hash']}  ok")
    assert f"params: {row['params']}" in tip.text and "layer.doublechannel: [" in tip.text
    Select(browser.find_element(By.ID, "pair")).select_by_visible_text("params against weight_bytes")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden]) .pt")) == 30
    assert len(browser.find_elements(By.CSS_SELECTOR, ".scatter:not([hidden])")) == 1
    assert browser.find_elements(By.CSS_SELECTOR, ".best-line")
    assert "The best candidate (#" in browser.find_element(By.TAG_NAME, "body").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_svg_and_png_figures(searched, tmp_path):
    from PIL import Image

    assert run_fgir("report", str(searched), "-o", str(tmp_path / "r.svg"), "--x", "macs",
                    "--y", "params").returncode == 0
    tree = ET.parse(tmp_path / "r.svg")
    points = [e for e in tree.iter() if "pt" in e.get("class", "").split()]
    assert len(points) == 30
    assert run_fgir("report", str(searched), "-o", str(tmp_path / "r.png")).returncode == 0
    with Image.open(tmp_path / "r.png") as image:
        assert image.format == "PNG" and image.size == (2 * (2 * 640 + 20), 2 * (400 + 26))
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 20     # drawn, not blank


def test_bad_report_arguments_are_usage_errors(searched, tmp_path):
    missing = tmp_path / "nowhere"
    result = run_fgir("report", str(missing), "-o", str(tmp_path / "r.html"))
    assert (result.returncode, result.stderr) == (2, f"{missing}: error: no such search folder\n{missing}: note: "
                                                  "give the output folder of an `fgir search` run (-o OUTDIR)\n")
    result = run_fgir("report", str(searched), "-o", str(tmp_path / "r.html"), "--x", "mac")
    assert (result.returncode, result.stderr) == (2, f"{tmp_path / 'r.html'}: error: the search has no metric "
                                                  f"'mac'\n{tmp_path / 'r.html'}: note: did you mean 'macs'?\n")
    result = run_fgir("report", str(searched), "-o", str(tmp_path / "r.pdf"))
    assert result.returncode == 2 and "cannot write a report as '.pdf'" in result.stderr


def test_a_report_of_an_early_stopping_search_shows_each_candidate_once(tmp_path):
    from fgir.search.page import read_search
    from search_helpers import load_test_plugin

    load_test_plugin(tmp_path)
    run_search(BACKBONE, tmp_path, algorithm="RandomSearch", evaluator="curve", budget=12, seed=0,
               objectives=["accuracy:max", "macs:min"], scheduler="ASHA", evaluator_options={"epochs": 9})
    data = read_search(tmp_path)
    assert len(data.rows) > len(data.candidates) == 12
    assert all(c is [r for r in data.rows if r["hash"] == c["hash"]][-1] for c in data.candidates)
    assert json.loads((tmp_path / "search.json").read_text())["scheduler"]["type"] == "ASHA"
