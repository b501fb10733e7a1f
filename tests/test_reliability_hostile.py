"""Hostile and broken inputs: random arrays, damaged and disguised files, and model directories
with absurd configs, mistyped weights or links leading out. Each gives a usable result or one
clear WorkbenchError with the exact message, and nothing else: no crash, no NaN, no hang.

Checkpoint pickles are in test_torch_checkpoint.py and converter output in test_convert.py.
"""

import json
import os
import re
import shutil
import struct
import zipfile
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import workbench
from workbench.audio import load_audio
from workbench.errors import AudioError, CheckpointError, WorkbenchError
from workbench.frontend import CMVN, WavFrontend
from workbench.loading import BUNDLED_DIR, read_config
from workbench.models.paraformer import ParaformerConfig

DEMO = BUNDLED_DIR / "paraformer-demo"
CLIP = Path(__file__).parent.parent / "sample_audio" / "zh_1.flac"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def demo():
    return workbench.load("paraformer-demo")


def one_line(exc: WorkbenchError) -> str:
    message = str(exc)
    assert message and "\n" not in message
    return message


# --- random arrays ------------------------------------------------------------------------------

SAMPLES = st.one_of(st.floats(-1, 1, width=32), st.floats(width=32), st.sampled_from([np.nan, np.inf, -np.inf, 1e7]))


@st.composite
def audio_arrays(draw):
    """[n] or [n, channels] arrays of every dtype a caller might pass, values anywhere."""
    n = draw(st.integers(0, 2000))
    shape = draw(st.sampled_from([(n,), (n, 1), (n, 2), (n, 6), (2, n)]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8]))
    elements = SAMPLES if np.dtype(dtype).kind == "f" else None
    return draw(arrays(dtype, shape, elements=elements))


RATES = st.one_of(st.sampled_from([8000, 16000, 22050, 44100, 48000]), st.integers(-10, 10**7),
                  st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@PROPERTY
@given(x=audio_arrays(), rate=RATES)
def test_loader_gives_finite_mono_audio_or_one_clear_error(x, rate):
    try:
        out = load_audio(x, sample_rate=rate)
    except AudioError as exc:
        one_line(exc)
        return
    assert out.dtype == np.float32 and out.ndim == 1 and np.isfinite(out).all()
    assert abs(len(out) - x.shape[0] * 16000 / rate) <= 1


# The demo's own frontend (its config.json): whatever window and features it was trained with.
DEMO_FRONTEND = ParaformerConfig.from_dict(read_config(DEMO)).frontend_conf
FRONTEND = WavFrontend(DEMO_FRONTEND, CMVN.from_file(DEMO / "am.mvn"))


@PROPERTY
@given(x=arrays(np.float32, st.integers(0, 4000), elements=SAMPLES))
def test_frontend_gives_finite_features_of_the_right_shape_or_one_clear_error(x):
    try:
        fbank, features = FRONTEND(x)
    except AudioError as exc:
        one_line(exc)
        return
    frames = 1 + (len(x) - DEMO_FRONTEND.window_samples) // DEMO_FRONTEND.shift_samples
    assert fbank.shape == (frames, DEMO_FRONTEND.n_mels)
    assert features.shape == (-(-frames // DEMO_FRONTEND.lfr_n), DEMO_FRONTEND.output_dim)
    assert np.isfinite(fbank).all() and np.isfinite(features).all()


@settings(max_examples=25, deadline=None)
@given(x=audio_arrays(), rate=RATES)
def test_pipeline_gives_a_transcript_or_one_clear_error(demo, x, rate):
    try:
        result = demo.transcribe(x, sample_rate=rate)
    except AudioError as exc:
        one_line(exc)
        return
    assert isinstance(result.text, str) and all(np.isfinite(t.logprob) for t in result.tokens)


ARRAYS = [  # (what a caller passes, the exact message)
    (lambda: load_audio(np.zeros(100)), "an audio array needs its sample_rate"),
    (lambda: load_audio(np.zeros(16000), sample_rate=16000.5),
     "audio array: sample rate 16000.5 is not supported (a whole number of Hz from 4000 to 768000)"),
    (lambda: load_audio(np.zeros(16000), sample_rate=float("nan")),  # soxr hung on this
     "audio array: sample rate nan is not supported (a whole number of Hz from 4000 to 768000)"),
    (lambda: load_audio(np.zeros((2, 48000)), sample_rate=48000),
     ("audio array: shape (2, 48000) has more channels than samples; expected [samples, channels] "
      "(transpose a [channels, samples] array)")),
    (lambda: load_audio([[0.1, 0.2], [0.3]], sample_rate=16000), "audio array is ragged (rows of different lengths)"),
    (lambda: load_audio(np.zeros(100, bool), sample_rate=16000), "audio array has unsupported dtype bool"),
    (lambda: load_audio(np.zeros((10, 2, 2)), sample_rate=16000),
     "audio array: expected [samples] or [samples, channels], got shape (10, 2, 2)"),
    (lambda: load_audio(np.full(16000, 2.0**31, np.float32), sample_rate=16000),
     ("audio array: samples reach 2.15e+09, but float audio lies in [-1, 1] (integer PCM passed as float? "
      "divide it by its type's full scale)")),
    (lambda: load_audio((16000, np.zeros(0, np.int16))), "audio array: contains no samples"),
    (lambda: FRONTEND(np.zeros(1000, np.int16)), "the frontend takes a 1-D float waveform, got int16 of shape (1000,)"),
    (lambda: FRONTEND(np.full(1000, np.nan, np.float32)), "audio: contains NaN or infinite samples"),
]


@pytest.mark.parametrize("call, message", ARRAYS, ids=[m[:40] for _, m in ARRAYS])
def test_bad_arrays_give_exact_messages(call, message):
    with pytest.raises(AudioError, match=f"^{re.escape(message)}$"):
        call()


def test_unsigned_pcm_arrays_are_offset_binary():
    # uint8 PCM has silence at 128; it used to be scaled as if 0 were silence (a DC of +0.5).
    np.testing.assert_array_equal(load_audio(np.array([0, 128, 255], np.uint8), sample_rate=16000),
                                  [-1.0, 0.0, 127 / 128])


# --- damaged and disguised files ----------------------------------------------------------------


def clip_file(path: Path, fmt: str, subtype: str) -> Path:
    sf.write(path, sf.read(CLIP, dtype="float32")[0], 16000, format=fmt, subtype=subtype)
    return path


def cut(path: Path, keep: int) -> Path:
    path.write_bytes(path.read_bytes()[:keep])
    return path


def overwrite(path: Path, offset: int, data: bytes) -> Path:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    path.write_bytes(bytes(raw))
    return path


def truncated(what: str) -> str:
    return "{path}: truncated: holds " + what + " its header declares (an incomplete download or copy?)"


FILES = {  # name → (make the file in a folder, the exact message; {path} is the file)
    "WAV cut in half": (lambda d: cut(clip_file(d / "a.wav", "WAV", "PCM_16"), 52606),
                        truncated("52562 of the 105168 bytes of audio")),
    "WAV cut after its header": (lambda d: cut(clip_file(d / "a.wav", "WAV", "PCM_16"), 44),
                                 truncated("0 of the 105168 bytes of audio")),
    "MP3 cut in half": (lambda d: cut(clip_file(d / "a.mp3", "MP3", "MPEG_LAYER_III"), 11250),
                        truncated("24239 of the 52584 frames")),
    "Ogg with a damaged stretch": (lambda d: overwrite(clip_file(d / "a.ogg", "OGG", "VORBIS"), 10000, b"\xa5" * 2000),
                                   truncated("27752 of the 52584 frames")),
    "FLAC cut in half": (lambda d: cut(clip_file(d / "a.flac", "FLAC", "PCM_16"), 25000),
                         "{path}: not a readable audio file (flac decoder lost sync.)"),
    "FLAC with a damaged block": (lambda d: overwrite(clip_file(d / "a.flac", "FLAC", "PCM_16"), 20000, b"\xa5" * 2000),
                                  "{path}: not a readable audio file (flac decoder lost sync.)"),
    "WAV with a damaged fmt chunk": (lambda d: overwrite(clip_file(d / "a.wav", "WAV", "PCM_16"), 20, b"\xff" * 16),
                                     "{path}: not a readable audio file "
                                     "(Error in WAV/W64/RF64 file. Malformed 'fmt ' chunk.)"),
    "WAV header with 0 channels": (lambda d: overwrite(clip_file(d / "a.wav", "WAV", "PCM_16"), 22,
                                                       struct.pack("<H", 0)),
                                   "{path}: not a readable audio file (Channel count is zero.)"),
    "WAV header with a 1 Hz rate": (lambda d: overwrite(clip_file(d / "a.wav", "WAV", "PCM_16"), 24,
                                                        struct.pack("<I", 1)),
                                    "{path}: sample rate 1 is not supported "
                                    "(a whole number of Hz from 4000 to 768000)"),
    "RIFF header and nothing else": (lambda d: (d / "a.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVE") and d / "a.wav",
                                     "{path}: not a readable audio file (Error in WAV file. No 'data' chunk marker.)"),
    "empty file": (lambda d: (d / "a.wav").write_bytes(b"") or d / "a.wav",
                   "{path}: not a readable audio file (Format not recognised.)"),
    "text renamed .wav": (lambda d: (d / "a.wav").write_text("not audio\n" * 50) and d / "a.wav",
                          "{path}: not a readable audio file (Format not recognised.)"),
    "PNG renamed .wav": (lambda d: (d / "a.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000)) and d / "a.wav",
                         "{path}: not a readable audio file (Format not recognised.)"),
    "zip (model.pt) renamed .wav": (lambda d: zipfile.ZipFile(d / "a.wav", "w").close() or d / "a.wav",
                                    "{path}: not a readable audio file (Format not recognised.)"),
    "JSON renamed .flac": (lambda d: (d / "a.flac").write_text('{"a": 1}') and d / "a.flac",
                           "{path}: not a readable audio file (Format not recognised.)"),
    "noise renamed .mp3": (lambda d: (d / "a.mp3").write_bytes(np.random.default_rng(0).bytes(5000)) and d / "a.mp3",
                           "{path}: not a readable audio file (unrecognised or corrupt data)"),
    "a directory": (lambda d: d, "{path}: is a directory, not an audio file"),
    "a FIFO (would block forever)": (lambda d: os.mkfifo(d / "a.wav") or d / "a.wav", "{path}: not a regular file"),
    "a missing file": (lambda d: d / "missing.wav", "{path}: no such file"),
}


@pytest.mark.parametrize("name", FILES)
def test_damaged_and_disguised_files(tmp_path, demo, name):
    make, message = FILES[name]
    if ".mp3" in name.lower() and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3")
    path = make(tmp_path)
    with pytest.raises(AudioError, match=f"^{re.escape(message.format(path=path))}$"):
        demo.transcribe(path)


def test_ogg_cut_short_is_a_known_limit(tmp_path, demo):
    # An Ogg stream cut between pages just ends, and its header has no length to compare with:
    # the part that is there is transcribed (docs/reliability.md, known limits).
    path = cut(clip_file(tmp_path / "a.ogg", "OGG", "VORBIS"), 10395)
    assert demo.transcribe(path).duration < 1.0


def test_streaming_wav_with_unknown_length_is_read_whole(tmp_path, demo):
    # Writers that stream (ffmpeg to a pipe) leave 0xFFFFFFFF as the data size: not a truncation.
    path = overwrite(clip_file(tmp_path / "a.wav", "WAV", "PCM_16"), 40, struct.pack("<I", 0xFFFFFFFF))
    assert demo.transcribe(path).text == demo.transcribe(CLIP).text


# --- model directories --------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A private copy of paraformer-demo that a test may damage."""
    return shutil.copytree(DEMO, tmp_path / "model")


def edit_config(model: Path, field: str, value) -> None:
    config = json.loads((model / "config.json").read_text())
    *parents, last = field.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[last] = value
    (model / "config.json").write_text(json.dumps(config))  # json writes NaN and Infinity as given


CONFIGS = [  # (field, value, exact message)
    ("encoder_conf.attention_heads", 0, "encoder_conf.attention_heads = 0 is out of range [1, 65536]"),
    ("decoder_conf.attention_heads", 3, "encoder output_size must divide by decoder_conf.attention_heads"),
    ("frontend_conf.frame_shift", 0, "frontend_conf.frame_shift = 0 is out of range [1, 65536]"),
    ("frontend_conf.lfr_n", 0, "frontend_conf.lfr_n = 0 is out of range [1, 65536]"),
    ("frontend_conf.fs", 8000, "frontend_conf.fs = 8000: only 16000 Hz models are supported"),
    ("frontend_conf.window", "rect", "frontend window 'rect' is not supported (hamming, hanning, povey)"),
    ("predictor_conf.tail_threshold", float("inf"), "predictor_conf.tail_threshold = inf is not a finite number"),
    ("predictor_conf.threshold", float("nan"), "predictor_conf.threshold = nan is not a finite number"),
    ("predictor_conf.threshold", 0.5, "predictor_conf.threshold = 0.5: only 1.0 is supported"),
    ("encoder_conf.num_blocks", 10**8, "encoder_conf.num_blocks = 100000000 is out of range [1, 512]"),
    ("encoder_conf.linear_units", "1024", "encoder_conf.linear_units has the wrong type: '1024'"),
    ("encoder_conf.sanm_shfit", 5, "sanm_shfit != 0 (streaming SAN-M) is not supported"),
    ("vocab_size", 10**9, "config vocab_size = 1000000000 is missing or out of range"),
    ("decoder_conf", [1, 2], "decoder_conf: expected a mapping, got list"),
    ("model_type", "evil", "{model}/config.json: model_type must be one of ['fun_asr_nano', 'paraformer']"),
]


@pytest.mark.parametrize("field, value, message", CONFIGS, ids=[f"{f}={v!r}" for f, v, _ in CONFIGS])
def test_absurd_configs_are_refused(model_dir, field, value, message):
    edit_config(model_dir, field, value)
    with pytest.raises(CheckpointError, match=f"^{re.escape(message.format(model=model_dir))}$"):
        workbench.load(model_dir)


def test_huge_but_in_range_dimensions_are_refused_before_allocating(model_dir):
    # 512 blocks of 65536 units would be 69 GB of weights; MLX builds the model lazily and the
    # weights file is checked against it before anything is evaluated.
    edit_config(model_dir, "encoder_conf.num_blocks", 512)
    edit_config(model_dir, "encoder_conf.linear_units", 65536)
    mx.reset_peak_memory()
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(model_dir))}: missing 6552 weights: "):
        workbench.load(model_dir)
    assert mx.get_peak_memory() < 2**30


def test_mistyped_weights_are_refused(model_dir):
    weights = mx.load(str(model_dir / "model.safetensors"))
    weights["decoder.output_layer.weight"] = weights["decoder.output_layer.weight"].astype(mx.int32)
    mx.save_safetensors(str(model_dir / "model.safetensors"), weights)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(model_dir))}: 1 weights of the wrong type: "
                       r"decoder\.output_layer\.weight is int32, expected floating point$"):
        workbench.load(model_dir)


@pytest.mark.parametrize("damage, message", [
    (lambda m: (m / "config.json").write_text("{not json"),
     "{model}/config.json: not valid JSON "
     "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    (lambda m: (m / "config.json").unlink(),
     "{model}: config.json is missing (convert upstream checkpoints with `workbench convert`)"),
    (lambda m: (m / "model.safetensors").unlink(), "{model}/model.safetensors: weights file is missing"),
    (lambda m: (m / "model.safetensors").write_bytes(struct.pack("<Q", 2**60) + b"{}"),
     ("{model}/model.safetensors: not a readable safetensors file ([load_safetensors] Invalid json header length "
      "file {model}/model.safetensors)")),
    (lambda m: (m / "tokens.json").write_text('["a", "b"]'), "{model}: tokens.json has 2 tokens, config says 1533"),
    (lambda m: (m / "am.mvn").write_text("<Nnet> nothing here"),
     "{model}/am.mvn: no <AddShift> vector found; not a Kaldi nnet1 CMVN file"),
], ids=["config not JSON", "config missing", "weights missing", "weights header absurd", "tokens mismatch",
        "am.mvn malformed"])
def test_damaged_side_files(model_dir, damage, message):
    damage(model_dir)
    with pytest.raises(CheckpointError, match=f"^{re.escape(message.format(model=model_dir))}$"):
        workbench.load(model_dir)


def test_links_leading_out_of_the_model_directory_are_refused(tmp_path, model_dir):
    outside = tmp_path / "elsewhere" / "tokens.json"
    outside.parent.mkdir()
    shutil.move(model_dir / "tokens.json", outside)
    (model_dir / "tokens.json").symlink_to(outside)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(model_dir / 'tokens.json'))}: links to "
                       f"{re.escape(str(outside))}, outside the model directory; copy the file in \\(cp -L\\) "
                       "if you trust it$"):
        workbench.load(model_dir)
    (model_dir / "tokens.json").unlink()
    (model_dir / "tokens.json").symlink_to(Path("..") / "model" / "sub" / "tokens.json")  # '..' but inside
    (model_dir / "sub").mkdir()
    shutil.move(outside, model_dir / "sub" / "tokens.json")
    assert workbench.load(model_dir).transcribe(CLIP).text


@pytest.mark.parametrize("name, make", [
    ("am.mvn", lambda path: path.unlink() or os.mkfifo(path)),
    ("notes.txt", lambda path: path.symlink_to(path.parent / "gone")),
], ids=["FIFO", "broken link"])
def test_special_files_in_a_model_directory_are_refused(model_dir, name, make):
    make(model_dir / name)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(model_dir / name))}: not a regular file "
                       r"\(a broken link, FIFO, socket or device\)$"):
        workbench.load(model_dir)


def test_a_bundled_name_cannot_be_a_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"^\.\./bundled/paraformer-demo: no such model directory; "
                       "bundled models: nano-demo, paraformer-demo"):
        workbench.load("../bundled/paraformer-demo")  # was BUNDLED_DIR/../bundled/paraformer-demo


def test_audio_too_long_to_decode_is_refused_before_reading(tmp_path, monkeypatch):
    # The real limit is 4 GiB of decoded samples; a 3.3 s clip stands in for an 18-hour one.
    monkeypatch.setattr("workbench.audio.MAX_DECODED_BYTES", 2**16)
    path = clip_file(tmp_path / "a.flac", "FLAC", "PCM_16")
    with pytest.raises(AudioError, match=f"^{re.escape(str(path))}: 0.0 h of 1-channel audio would take 0.0 GiB "
                       r"to decode \(at most 0\); split it first \(sox or ffmpeg\)$"):
        load_audio(path)
