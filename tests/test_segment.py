"""Long recordings are cut at pauses and transcribed piece by piece, nothing dropped, in order."""

from pathlib import Path

import numpy as np
import pytest

import workbench
from workbench.audio import load_audio
from workbench.evaluate import error_rate
from workbench.long_recording import long_recording
from workbench.segment import TRANSCRIBE_PAD_S, speech_segments, transcribe_long

ROOT = Path(__file__).parent.parent
ROWS = [line.split("\t") for line in (ROOT / "sample_audio" / "refs.tsv").read_text().splitlines()[1:]]
REFS = {name: text for name, _, text in ROWS}
LANGUAGE = {name: language for name, language, _ in ROWS}
@pytest.fixture(scope="module")
def demo():
    return workbench.load("paraformer-demo")


def test_segments_cover_every_sentence_of_the_long_clip():
    segments = speech_segments(load_audio(ROOT / "sample_audio" / "long_zh.flac"))
    assert len(segments) == len(REFS["long_zh.flac"].split())  # ten sentences, ten segments
    assert all(b > a for a, b in segments) and all(b1 <= a2 for (_, b1), (a2, _) in zip(segments, segments[1:]))


def test_padding_never_makes_neighbours_share_audio():
    # Three 1 s bursts with 0.35 s pauses, less than twice the 0.25 s that transcribe_long keeps
    # around a segment: each side of a pause gets at most half of it; the outer edges get it all.
    rng = np.random.default_rng(0)
    burst, pause = 0.1 * rng.standard_normal(16000).astype(np.float32), np.zeros(5600, np.float32)
    audio = np.concatenate([np.zeros(8000, np.float32), burst, pause, burst, pause, burst, np.zeros(8000, np.float32)])
    segments = speech_segments(audio, pad_s=TRANSCRIBE_PAD_S)
    assert len(segments) == 3 and all(b1 <= a2 for (_, b1), (a2, _) in zip(segments, segments[1:]))
    assert all(a2 - b1 < 0.05 for (_, b1), (a2, _) in zip(segments, segments[1:]))  # the pause shared, not lost
    assert segments[0][0] == pytest.approx(0.5 - TRANSCRIBE_PAD_S, abs=0.03)
    assert segments[-1][1] == pytest.approx(len(audio) / 16000 - 0.5 + TRANSCRIBE_PAD_S, abs=0.03)


@pytest.mark.parametrize("pad", [-0.1, 2.5])
def test_a_pad_out_of_range_is_refused(demo, pad):
    with pytest.raises(ValueError, match=rf"pad_s must be between 0 and 2 seconds of silence, got {pad}"):
        transcribe_long(demo, ROOT / "sample_audio" / "long_zh.flac", pad_s=pad)


def test_long_clip_is_better_segmented_than_in_one_pass(demo):
    ref = REFS["long_zh.flac"]
    whole = demo.transcribe(ROOT / "sample_audio" / "long_zh.flac").text
    pieces = transcribe_long(demo, ROOT / "sample_audio" / "long_zh.flac")
    # Measured with the sixteenth paraformer-demo: 0 % segmented (0.7 %, one surname, with 0.15 s
    # pads), 3.4 % in one pass (5 of 145 characters; the fourteenth run: 0 % and 5.5 %, the
    # eleventh: 17.9 % in one pass), far longer than any training utterance.
    segmented = error_rate(ref, pieces.text, "zh")
    assert segmented <= 0.1 and segmented < error_rate(ref, whole, "zh")
    starts = [t.start for t in pieces.tokens]
    assert starts == sorted(starts) and pieces.tokens[-1].end <= pieces.duration


# set-up → (model, transcribe options, clip → the most error, CER or WER, any one segment of that
# clip may have, the most mean error over all segments). Measured on this recording (124
# segments, deterministic), the worst segment of each clip and the mean, and the bound: measured
# + 10 points for a clip (5 for the mean), rounded up to a whole percent and never less than one
# error more than measured; 0 (the reference text itself) where every segment came out exact,
# here and with the gaps drawn from seeds 1 and 2 (`scripts/measure_long_audio.py MODEL --seed N`).
# paraformer-demo's single pass, with or without CTC rescoring, is held to the reference text in
# every segment, issue #7's criterion: exact on this recording and on seed 1's; on seed 2's one
# segment of the unseen English voice has two words wrong ("twentwenven books").
#
#   clip                   paraformer-demo (16th run)   … with count search          nano-demo (7th run)
#   zh_1.flac               0   % → 0  (all exact)      0   % → 0  (all exact)       0   % → 0  (all exact)
#   en_1.flac               0   % → 0  (all exact)      0   % → 0  (all exact)       0   % → 0  (all exact)
#   zh_2.flac               0   % → 0  (all exact)      0   % → 0  (all exact)       0   % → 0  (all exact)
#   en_2.flac               0   % → 0  (all exact)      0   % → 0  (all exact)       0   % → 0  (all exact)
#   zh_3.flac               0   % → 0  (all exact)      7.1 % → 18 % (14–16 of 15–16) 7.1 % → 18 % (none exact)
#   mixed_1.flac            0   % → 0  (all exact)      0   % → 0  (all exact)      10.0 % → 20 % (2–3 of 15–16)
#   unseen_voice_zh.flac    0   % → 0  (all exact)      0   % → 0  (all exact)       0   % → 0  (all exact)
#   unseen_voice_en.flac    0   % → 0  (see above)     14.3 % → 29 % (1–3 of 15)    14.3 % → 29 % (none exact)
#   mean                    0   % → 0  (0.23 %, seed 2) 1.67 % → 7 %                 3.72 % → 9 %
#
# (The worst of seeds 0, 1 and 2 per clip; paraformer-demo's means are 0 %, 0 % and 0.23 %, with
# count search 1.67 %, 1.49 % and 1.36 %; nano-demo's 3.64 %, 3.59 % and 3.72 %. Until the
# twenty-sixth session segments kept 0.15 s of silence on either side, not 0.25 s
# (segment.TRANSCRIBE_PAD_S): paraformer-demo's sixteenth run then had 0.31 %, 0.17 % and 0.34 %
# (zh_1's 李 as 黎 in two segments of each), its fifteenth 3.4 %, 2.4 % and 2.4 %; nano-demo 2.8 %,
# 3.1 % and 2.8 %, with mixed_1 exact in 9–14.)
# nano-demo does not give every segment's reference text: it writes "twenty ten notebooks" for
# "twenty notebooks" in the unseen English voice and 何 for zh_3's 贺 (a surname that differs only
# in tone) in every segment, and one word of the code-switched clip wrong in most. Count search
# costs paraformer-demo the unseen English voice ("twenty books" for "twenty notebooks", as on the
# clip alone; tests/test_demo_models.py).
LONG_AUDIO = {
    "paraformer-demo": ("paraformer-demo", {}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0,
        "mixed_1.flac": 0, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0}, 0),
    "paraformer-demo-count-search": ("paraformer-demo", {"count_search": 1}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0.18,
        "mixed_1.flac": 0, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0.29}, 0.07),
    # CTC rescoring at weight 0.3 (tests/test_ctc_rescore.py), seeds 0, 1 and 2: as the single pass,
    # every segment exact but one of the unseen English voice at seed 2; mean 0 %, 0 %, 0.23 % (the
    # fifteenth run, 0.15 s pads: 2.2 %, 2.3 %, 2.0 %, mixed_1 exact in 7–8 of 15–16, zh_3 in 2–3).
    "paraformer-demo-ctc-rescore": ("paraformer-demo", {"ctc_rescore": 0.3}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0,
        "mixed_1.flac": 0, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0}, 0),
    # Speech found by FunASR's FSMN-VAD (`vad="fsmn"`, the pip-installed checkpoint) instead of
    # frame energy: the same segments (each clip in its own); measured on seeds 0, 1 and 2: every
    # clip exact in every segment but the unseen English voice, exact in 7–11 of 15 (in one segment
    # 3 of its 7 words wrong); mean 1.73 %, 1.03 %, 1.25 % (the fifteenth run, 0.15 s pads: 2.2 %,
    # 2.9 %, 2.7 %).
    "paraformer-demo-fsmn-vad": ("paraformer-demo", {"vad": "fsmn"}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0,
        "mixed_1.flac": 0, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0.58}, 0.07),
    # nano-demo with the FSMN-VAD, seeds 0, 1 and 2: zh_3 and unseen_voice_en exact in no segment
    # (何 for 贺; "twenty ten notebooks", in one segment 3 of 7 words wrong), mixed_1 in 6–8 of
    # 15–16, the rest in all; mean 3.93 %, 4.56 %, 4.99 % (0.15 s pads: 4.5 %, 4.9 %, 4.5 %).
    "nano-demo-fsmn-vad": ("nano-demo", {"vad": "fsmn"}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0.18,
        "mixed_1.flac": 0.20, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0.58}, 0.10),
    "nano-demo": ("nano-demo", {}, {
        "zh_1.flac": 0, "en_1.flac": 0, "zh_2.flac": 0, "en_2.flac": 0, "zh_3.flac": 0.18,
        "mixed_1.flac": 0.20, "unseen_voice_zh.flac": 0, "unseen_voice_en.flac": 0.29}, 0.09),
}


@pytest.fixture(scope="module")
def recording():
    """The sample clips in turn, 0.8–2 s of silence after each, until ten minutes are filled."""
    return long_recording(600, seed=0)


@pytest.mark.parametrize("setup", LONG_AUDIO)
def test_ten_minute_recording_keeps_every_segment_in_order(setup, recording, request):
    model, options, bounds, mean_bound = LONG_AUDIO[setup]
    if options.get("vad") == "fsmn":
        options = {**options, "vad": request.getfixturevalue("fsmn_vad")}
    audio, names, spans = recording
    refs = [REFS[name] for name in names]
    seen = []
    pipeline = workbench.load(model)
    result = transcribe_long(pipeline, audio, sample_rate=16000,
                             progress=lambda done, total: seen.append((done, total)), **options)
    assert result.duration >= 600 and seen[-1][0] == seen[-1][1] == len(refs)
    segments = result.extra["segments"]
    assert len(segments) == len(refs)
    # Nothing dropped: each clip lies inside its own segment (up to the quiet edges of the clip
    # that the detector may leave out), segments are in order and inside the recording, and
    # the transcript is their texts in order.
    for (start, end), piece in zip(spans, segments):
        assert piece["start"] <= start + 0.3 and piece["end"] >= end - 0.3, (start, end, piece)
    edges = [b for piece in segments for b in (piece["start"], piece["end"])]
    assert edges == sorted(edges) and 0 <= edges[0] and edges[-1] <= result.duration
    assert result.text == " ".join(piece["text"] for piece in segments if piece["text"])
    # Token times (Paraformer's, from CIF; Nano's generated tokens have none) are in order and
    # every timed token sits inside its segment.
    timed = [t for t in result.tokens if t.start is not None]
    if pipeline.kind == "paraformer":
        assert len(timed) == len(result.tokens)
    starts = [t.start for t in timed]
    assert starts == sorted(starts) and all(any(p["start"] <= t.start and t.end <= p["end"] + 0.1 for p in segments)
                                            for t in timed)
    # Each segment's text is its own clip's: within the clip's bound of its reference, and nearer
    # to it than to the references of the clips before and after it (no text shifted to a
    # neighbouring segment, none carried over from the segment before).
    rates = [error_rate(REFS[name], piece["text"], LANGUAGE[name]) for name, piece in zip(names, segments)]
    over = [(name, f"{rate:.1%}", piece["text"]) for name, rate, piece in zip(names, rates, segments)
            if rate > bounds[name]]
    assert not over and np.mean(rates) <= mean_bound, (over, np.mean(rates))
    for i, piece in enumerate(segments):
        own = error_rate(refs[i], piece["text"], "zh")
        assert all(error_rate(refs[j], piece["text"], "zh") > own for j in (i - 1, i + 1) if 0 <= j < len(refs)), \
            (i, names[i], piece["text"])


def test_silence_gives_no_segments():
    assert speech_segments(np.zeros(16000 * 3, np.float32)) == []


def test_cli_segment_flag(capsys):
    from workbench.cli import main

    assert main(["transcribe", str(ROOT / "sample_audio" / "long_zh.flac"), "--model", "paraformer-demo",
                 "--segment"]) == 0
    captured = capsys.readouterr()
    # the last sentence (its name varies by demo run)
    assert "segment 10/10" in captured.err and "是一九七六年出生的" in captured.out


def test_cli_eval_segment_flag(tmp_path, capsys):
    import json

    from workbench.cli import main

    refs = tmp_path / "refs.tsv"
    long_zh = [line for line in (ROOT / "sample_audio" / "refs.tsv").read_text().splitlines()
               if line.startswith("long_zh.flac")][0]
    absolute = long_zh.replace("long_zh.flac", str(ROOT / "sample_audio" / "long_zh.flac"))
    refs.write_text("file\tlanguage\ttext\n" + absolute)
    assert main(["eval", str(refs), "--model", "paraformer-demo", "--segment", "--json", str(tmp_path / "r.json")]) == 0
    # The bound of tests/test_demo_models.py for this clip, segmented (measured 0 %; one pass: 5.5 %).
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["CER (zh)"] <= 0.10
    assert main(["eval", str(refs), "--model", "paraformer-demo", "--segment", "--cif"]) == 2
    assert capsys.readouterr().err.strip().endswith("--cif checks one pass per reference; it cannot be combined "
                                                    "with --segment")
