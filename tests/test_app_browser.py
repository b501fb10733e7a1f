"""The app in a real browser: Playwright drives headless Chromium (Debian's `chromium` package,
which scripts/test.sh installs) through every tab on an uploaded clip, checks the transcript and
that every plot rendered, and leaves a screenshot per tab in test-artifacts/."""

import shutil
import socket
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra has it)")

# Imported only once the importorskip above has passed.
from workbench.app.ui import build_app  # noqa: E402
from workbench.loading import BUNDLED_DIR  # noqa: E402

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CLIP = ROOT / "sample_audio" / "zh_1.flac"
REFERENCE = "李建华二零二二年去了郑州工作"  # sample_audio/refs.tsv
# What the bundled demos hear in it (greedy decoding is deterministic): nano-demo gets it exactly
# right since its fourth run, and paraformer-demo since its fifteenth (its eleventh to fourteenth
# runs wrote the near-homophone 黎 for the surname 李; tests/test_demo_models.py has both models'
# error bounds on every sample clip).
PARAFORMER_TRANSCRIPT = REFERENCE
NANO_TRANSCRIPT = REFERENCE
# nano-demo's decoding steps, the last the stop token
NANO_TOKENS = ["李", "建华", "二零", "二", "二", "年去了", "郑州", "工作", ""]
CHROMIUM = shutil.which("chromium")
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: install Debian's `chromium` package "
                                                           "(scripts/test.sh does) to run the browser test")

# Each plot slot of a tab: loaded <img> with its natural and drawn size (zero = not rendered).
PLOTS = """tab => [...document.querySelectorAll(`#${tab} .wb-plot`)].map(el => {
    const img = el.querySelector('img');
    if (!img || !img.complete) return [0, 0, 0];
    const box = img.getBoundingClientRect();
    return [img.naturalWidth, box.width, box.height];
})"""


@pytest.fixture(scope="module")
def url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app().queue(default_concurrency_limit=2)
    _, url, _ = app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield url
    app.close()


@pytest.fixture(scope="module")
def page(url):
    with sync_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.locator("#audio input[type=file]").set_input_files(CLIP)
        page.wait_for_selector(f"#audio a[download][href*='{CLIP.name}']")  # the upload has arrived
        yield page
        browser.close()


def run_tab(page, tab: str, button: str, done: str, plots: int, shot: str = ""):
    """Open a tab, press its button, wait for `done` (a JS condition) and for its plots; then
    check every plot has pixels and save a screenshot (test-artifacts/app-{shot or tab}.png)."""
    page.get_by_role("tab", name=tab).click()
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_function(done)
    key = f"tab-{tab.lower()}"
    page.wait_for_function(f"() => ({PLOTS})('{key}').filter(p => p[0] > 0).length >= {plots}")
    sizes = page.evaluate(PLOTS, key)
    assert len(sizes) >= plots and all(w > 0 and box_w > 0 and box_h > 0 for w, box_w, box_h in sizes[:plots])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"app-{shot or tab.lower()}.png", full_page=True)


def test_transcribe_tab(page):
    run_tab(page, "Transcribe", "Transcribe", "() => document.querySelector('#transcript textarea').value", plots=2)
    assert page.locator("#transcript textarea").input_value() == PARAFORMER_TRANSCRIPT
    assert page.locator("#tab-transcribe .wb-token").count() == len(PARAFORMER_TRANSCRIPT)
    page.locator("#tab-transcribe").get_by_role("button", name="Prepare downloads").click()
    names = ["run.json", "captures.npz", "features.png", "cif.png"]
    page.wait_for_function(f"() => {names}.every(n => document.querySelector('#transcribe_files')"
                           ".innerText.replace(/\\s/g, '').includes(n))")


def test_internals_tab(page):
    run_tab(page, "Internals", "Inspect internals",
            "() => document.querySelector('#positions')?.innerText.includes('郑')", plots=3)
    before = page.locator("#self-image img").get_attribute("src")
    page.locator("#self-head input").click()
    page.get_by_role("option", name="head 1", exact=True).click()
    page.wait_for_function(f"() => document.querySelector('#self-image img')?.src !== {before!r}")


def test_compare_tab(page):
    page.get_by_role("tab", name="Compare").click()
    page.get_by_label("Reference transcript").fill(REFERENCE)
    page.locator("#setup-C-model input").click()  # A and B (as stored, 8-bit) are enough here
    page.get_by_role("option", name="(none)", exact=True).click()
    run_tab(page, "Compare", "Compare",
            f"() => document.querySelector('#compare-results')?.innerText.includes('{PARAFORMER_TRANSCRIPT}')", plots=1)
    assert page.locator("#tab-compare").get_by_text("compared with the reference").count() >= 2


def test_learn_tab(page):
    run_tab(page, "Learn", "Trace the model on this clip",
            "() => document.querySelector('#tab-learn')?.innerText.includes('frontend.features')", plots=0)
    assert page.locator("#tab-learn").get_by_text("[55, 588]").count() == 1


def test_internals_tab_on_nano(page):
    page.get_by_label("…or a converted model directory").fill(str(BUNDLED_DIR / "nano-demo"))
    run_tab(page, "Internals", "Inspect internals",
            "() => document.querySelector('#token-map input')?.value === 'llm.layers.0.attn'"
            f" && document.querySelector('#positions')?.innerText.includes('{NANO_TOKENS[2]}')", plots=3,
            shot="internals-nano")
    # One row per greedy decoding step: the tokens spell nano-demo's transcript of the clip.
    tokens = page.evaluate("() => [...document.querySelectorAll(\"#positions [role=gridcell][data-col='1']\")]"
                           ".sort((a, b) => a.dataset.row - b.dataset.row).map(cell => cell.innerText.trim())")
    assert tokens == NANO_TOKENS and "".join(tokens) == NANO_TRANSCRIPT
    page.get_by_label("…or a converted model directory").fill("")
