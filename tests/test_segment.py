"""Long recordings are cut at pauses and transcribed piece by piece, nothing dropped, in order."""

from pathlib import Path

import numpy as np
import pytest

import workbench
from workbench.audio import load_audio
from workbench.evaluate import edit_distance, units
from workbench.loading import BUNDLED_DIR
from workbench.segment import speech_segments, transcribe_long

ROOT = Path(__file__).parent.parent
REFS = dict(line.split("\t")[::2] for line in (ROOT / "sample_audio" / "refs.tsv").read_text().splitlines()[1:])
# The noisy clip is left out of the 10-minute recording: pasted between digital-silence gaps its
# 5 dB noise starts and stops abruptly, which no real recording does (and which the interim demo,
# trained on noise that runs through a whole utterance, mishears). It is tested on its own.
MANDARIN = ["zh_1.flac", "zh_2.flac", "zh_3.flac", "unseen_voice_zh.flac"]


def cer(ref: str, hyp: str) -> float:
    r = units(ref, "zh")
    return edit_distance(r, units(hyp, "zh")) / len(r)


@pytest.fixture(scope="module")
def demo():
    return workbench.load("paraformer-demo")


def test_segments_cover_every_sentence_of_the_long_clip():
    segments = speech_segments(load_audio(ROOT / "sample_audio" / "long_zh.flac"))
    assert len(segments) == len(REFS["long_zh.flac"].split())  # ten sentences, ten segments
    assert all(b > a for a, b in segments) and all(b1 <= a2 for (_, b1), (a2, _) in zip(segments, segments[1:]))


def test_long_clip_is_better_segmented_than_in_one_pass(demo):
    ref = REFS["long_zh.flac"]
    whole = demo.transcribe(ROOT / "sample_audio" / "long_zh.flac").text
    pieces = transcribe_long(demo, ROOT / "sample_audio" / "long_zh.flac")
    assert cer(ref, pieces.text) <= 0.1 < cer(ref, whole)
    starts = [t.start for t in pieces.tokens]
    assert starts == sorted(starts) and pieces.tokens[-1].end <= pieces.duration


# model → (clips in the languages it handles, the most CER any one segment may have, the most
# mean CER). paraformer-demo, each clip alone: 0, 7.1, 7.1, 0 % (mean 3.6 %); in the recording
# (118 segments) at most 16.7 % and 4.7 % on average, since its output moves a little with where
# a 10 ms frame boundary falls. nano-demo is not bundled yet: measure it the same way (each clip
# alone, then here) when it is, and set its clips and bounds from that.
LONG_AUDIO = {
    "paraformer-demo": (MANDARIN, 0.25, 0.07),
    "nano-demo": (MANDARIN, 0.25, 0.07),
}


@pytest.mark.parametrize("model", LONG_AUDIO)
def test_ten_minute_recording_keeps_every_segment_in_order(model):
    if not (BUNDLED_DIR / model).is_dir():
        pytest.skip(f"{model} is not bundled yet (workbench/bundled/{model})")
    clips, max_cer, mean_cer = LONG_AUDIO[model]
    rng = np.random.default_rng(0)
    audio, refs, spans, at = [], [], [], 0
    while at < 600 * 16000:
        name = clips[len(refs) % len(clips)]
        clip, gap = load_audio(ROOT / "sample_audio" / name), np.zeros(int(rng.uniform(0.8, 2.0) * 16000), np.float32)
        audio += [clip, gap]
        refs.append(REFS[name])
        spans.append((at / 16000, (at + len(clip)) / 16000))
        at += len(clip) + len(gap)
    seen = []
    result = transcribe_long(workbench.load(model), np.concatenate(audio), sample_rate=16000,
                             progress=lambda done, total: seen.append((done, total)))
    assert result.duration >= 600 and seen[-1][0] == seen[-1][1] == len(refs)
    segments = result.extra["segments"]
    assert len(segments) == len(refs)
    # Nothing dropped: each clip lies inside its own segment (up to the quiet edges of the clip
    # that the detector may leave out), segments are in order and inside the recording, and
    # every token sits inside its segment.
    for (start, end), piece in zip(spans, segments):
        assert piece["start"] <= start + 0.3 and piece["end"] >= end - 0.3, (start, end, piece)
    bounds = [b for piece in segments for b in (piece["start"], piece["end"])]
    assert bounds == sorted(bounds) and 0 <= bounds[0] and bounds[-1] <= result.duration
    starts = [t.start for t in result.tokens]
    assert starts == sorted(starts) and all(any(p["start"] <= t.start and t.end <= p["end"] + 0.1 for p in segments)
                                            for t in result.tokens)
    rates = [cer(ref, piece["text"]) for ref, piece in zip(refs, segments)]
    assert max(rates) <= max_cer and np.mean(rates) <= mean_cer, \
        [(r, p["text"]) for r, p in zip(refs, segments) if cer(r, p["text"]) > 0.2]


def test_silence_gives_no_segments():
    assert speech_segments(np.zeros(16000 * 3, np.float32)) == []


def test_cli_segment_flag(capsys):
    from workbench.cli import main

    assert main(["transcribe", str(ROOT / "sample_audio" / "long_zh.flac"), "--model", "paraformer-demo", "--segment"]) == 0
    captured = capsys.readouterr()
    assert "segment 10/10" in captured.err and "是一九七六年出生的" in captured.out  # the last sentence (its name varies by demo run)
