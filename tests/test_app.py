"""The app's API through gradio_client: a sample clip transcribes, concurrent requests all get the
right answer, and a bad upload comes back as an error message rather than a crash."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client", reason="the app extra is not installed")

from workbench.app.ui import build_app

ROOT = Path(__file__).parent.parent
REFS = dict(line.split("\t")[::2] for line in (ROOT / "sample_audio" / "refs.tsv").read_text().splitlines()[1:])


@pytest.fixture(scope="module")
def client():
    app = build_app().queue(default_concurrency_limit=2)
    _, url, _ = app.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield gradio_client.Client(url, verbose=False)
    app.close()


def call(client, sample=None, upload=None):
    upload = gradio_client.handle_file(str(upload)) if upload else None
    return client.predict("paraformer-demo", "", upload, sample, api_name="/transcribe")


def test_sample_clip_transcribes(client):
    text, confidence, tokens, timings, features, cif, _ = call(client, sample="zh_1.flac")
    assert text == REFS["zh_1.flac"]
    assert len(tokens["data"]) == len(text) and timings["total"] > 0
    assert confidence.count('class="wb-token"') == len(text)
    assert Path(features).stat().st_size > 0 and Path(cif).stat().st_size > 0


def test_eight_concurrent_requests_all_answer_correctly(client):
    clips = ["zh_1.flac", "noisy_zh.flac", "unseen_voice_zh.flac", "zh_1.flac"] * 2
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda c: call(client, sample=c)[0], clips))
    assert texts == [REFS[c] for c in clips]


def test_invalid_upload_is_an_error_message(client, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio" * 100)
    with pytest.raises(gradio_client.exceptions.AppError, match="not a readable audio file"):
        call(client, upload=bad)


def test_long_clip_is_segmented(client):
    from workbench.evaluate import edit_distance, units

    text = call(client, sample="long_zh.flac")[0]
    ref = units(REFS["long_zh.flac"], "zh")
    assert len(text.split()) == 10  # one piece per sentence
    assert edit_distance(ref, units(text, "zh")) / len(ref) <= 0.1
