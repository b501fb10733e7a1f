"""Integrate-and-fire: the vectorised form against the readable loop and against upstream."""

import mlx.core as mx
import numpy as np
import pytest
import torch
from funasr.models.paraformer.cif_predictor import cif_v1

from workbench.errors import WorkbenchError
from workbench.frontend import FrontendConf
from workbench.models.cif import fire_positions, integrate_and_fire, integrate_and_fire_loop


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    T, D = int(rng.integers(1, 300)), 16
    # Mixture of near-silent frames and speech-like frames, like a trained model's alphas.
    alphas = np.where(rng.random(T) < 0.3, rng.uniform(0, 0.05, T), rng.uniform(0.05, 0.99, T)).astype(np.float32)
    hidden = rng.standard_normal((T, D)).astype(np.float32)
    return alphas, hidden


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_cif_equals_loop(seed):
    alphas, hidden = random_case(seed)
    emb, fires = integrate_and_fire(mx.array(hidden), alphas)
    ref_emb, ref_fires = integrate_and_fire_loop(hidden, alphas)
    np.testing.assert_array_equal(fires, ref_fires)
    np.testing.assert_allclose(np.array(emb), ref_emb, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("seed", range(20))
def test_cif_matches_upstream_cif_v1_with_tail(seed):
    alphas, hidden = random_case(seed + 100)
    # Upstream's inference path: a zero frame carrying the 0.45 tail weight is appended.
    tail_alphas = np.concatenate([alphas, [0.45]]).astype(np.float32)
    tail_hidden = np.concatenate([hidden, np.zeros((1, hidden.shape[1]), np.float32)])
    token_num = int(np.floor(tail_alphas.sum()))
    ref, _ = cif_v1(torch.from_numpy(tail_hidden)[None], torch.from_numpy(tail_alphas)[None], 1.0)
    ref = ref[0, :token_num].numpy()
    emb, fires = integrate_and_fire(mx.array(tail_hidden), tail_alphas)
    assert emb.shape[0] == token_num == len(fires)
    np.testing.assert_allclose(np.array(emb), ref, atol=2e-5, rtol=1e-4)


def test_token_count_is_floor_of_sum_plus_tail():
    # 0.5 + 0.5 + 0.3 = 1.3; with the 0.45 tail 1.75 → one token, fired at frame 1 (sum 1.0).
    # 0.6 more gives 2.35 → two tokens; the second fires on the tail frame (sum 1.9 → 2.35).
    _, _, n = fire_positions(np.array([0.5, 0.5, 0.3, 0.45], np.float32))
    assert n == 1
    fires, _, n = fire_positions(np.array([0.5, 0.5, 0.3, 0.6, 0.45], np.float32))
    assert n == 2 and list(fires) == [1, 4]


def test_no_fire_gives_no_tokens():
    emb, fires = integrate_and_fire(mx.zeros((3, 4)), np.array([0.1, 0.1, 0.45], np.float32))
    assert emb.shape == (0, 4) and len(fires) == 0


def test_token_times_follow_the_fires_and_skip_leading_silence():
    from workbench.pipelines.paraformer import token_times

    # 5 silent frames, then two tokens' worth of weight, then the 0.45 tail.
    alphas = np.array([0.01] * 5 + [0.5, 0.5, 0.6, 0.4] + [0.0], np.float32)
    fires, _, n = fire_positions(np.concatenate([alphas, [0.45]]).astype(np.float32))
    times = token_times(alphas, fires[:n], 0.06)
    assert n == 2 and list(fires[:n]) == [6, 8]
    assert times[0] == pytest.approx((5 * 0.06, 7 * 0.06))  # starts where speech weight starts
    assert times[1][0] == pytest.approx(times[0][1]) and times[1][1] == pytest.approx(9 * 0.06)


def test_cif_check_reports_each_group_apart():
    """`workbench eval --cif` summarises Mandarin with and without English words separately; here
    with a stand-in model whose token counts and times are chosen, on real sample clips (the
    spoken span comes from the clip's audio)."""
    from pathlib import Path
    from types import SimpleNamespace

    from workbench.cif_check import cif_check

    root = Path(__file__).parent.parent / "sample_audio"
    refs = [{"file": str(root / f), "language": lang, "text": text} for f, lang, text in [
        ("zh_1.flac", "zh", "李建华"), ("zh_2.flac", "zh", "江春梅"), ("mixed_1.flac", "zh", "我把report发了"),
        ("en_1.flac", "en", "there were bottles")]]
    # (tokens emitted, first token's start in s): exact and inside; one short; exact but far past
    # the clip's end; two over.
    emitted = iter([(10, 1.0), (9, 1.0), (10, 100.0), (12, 1.0)])

    def transcribe(waveform, sample_rate):
        n, start = next(emitted)
        return SimpleNamespace(tokens=[SimpleNamespace(start=start + 0.1 * i, end=start + 0.1 * (i + 1))
                                       for i in range(n)])

    model = SimpleNamespace(kind="paraformer", transcribe=transcribe)
    summary = cif_check(model, refs, SimpleNamespace(encode=lambda text: [0] * 10))["summary"]
    assert summary["exact_count"] == 0.5 and summary["mean_abs_count_error"] == 0.75
    assert summary["all_tokens_inside"] == 0.75 and summary["tokens_inside_span"] == 31 / 41
    assert summary["exact_count (zh)"] == pytest.approx(2 / 3)
    assert summary["exact_count (zh without English)"] == 0.5
    assert summary["exact_count (zh with English)"] == 1.0 and summary["all_tokens_inside (zh with English)"] == 0.0
    assert summary["exact_count (en)"] == 0.0 and summary["mean_abs_count_error (en)"] == 2.0
    # Three Mandarin clips make fewer than the four rate groups; nothing is made up for them.
    assert "count_by_rate (zh)" not in summary and "count_by_rate (en)" not in summary


def test_count_by_rate_groups_utterances_by_speaking_rate():
    """Eight utterances of 2 s of speech with 4…11 reference tokens (2 to 5.5 per second): the slow
    half over-counted by one, the quick half under-counted by one except the quickest."""
    from workbench.cif_check import count_by_rate

    rows = [{"reference_tokens": n, "emitted_tokens": n + (1 if n < 8 else -1 if n < 11 else 0),
             "speech_span": [0.5, 2.5]} for n in range(11, 3, -1)]
    rows.append({"reference_tokens": 5, "emitted_tokens": 0, "speech_span": [0.0, 0.0]})  # no speech: left out
    groups = count_by_rate(rows, groups=2)
    assert [g["tokens_per_second"] for g in groups] == [[2.0, 3.5], [4.0, 5.5]]
    assert [g["utterances"] for g in groups] == [4, 4]
    assert [g["mean_count_error"] for g in groups] == [1.0, -0.75]
    assert [(g["exact_count"], g["over"], g["under"]) for g in groups] == [(0.0, 1.0, 0.0), (0.25, 0.0, 0.75)]
    assert count_by_rate(rows[:1], groups=2) == []


def test_word_windows_merge_a_word_without_a_start_into_the_word_before():
    from workbench.cif_check import SLACK_S, word_windows

    # A leading word without a start is taken from 0; the last word runs to the end of speech.
    windows = word_windows([None, 0.5, None, 1.0], end=2.0)
    expected = [(0.0, 0.5), (0.5, 1.0), (0.5, 1.0), (1.0, 2.0)]
    np.testing.assert_allclose(windows, [(lo - SLACK_S, hi + SLACK_S) for lo, hi in expected])


def test_cif_check_places_tokens_in_the_synthesisers_words(tmp_path):
    """With a reference's word starts and the exact count, each token is checked against its own
    word's window; rows without word starts, or with a wrong count, are left as they were."""
    import json
    from pathlib import Path
    from types import SimpleNamespace

    from workbench.cif_check import cif_check
    from workbench.evaluate import read_references

    root = Path(__file__).parent.parent / "sample_audio"
    # A vocabulary splitting a word into 1 + len // 3 tokens: there, were → 2, bottles → 3.
    vocab = SimpleNamespace(encode=lambda text: [0] * sum(1 + len(w) // 3 for w in text.split()))
    # en_1.flac's spoken span is [0, 2.595], so the windows (±0.06 s) are: there and were (no start
    # of its own) [0.24, 1.26), bottles [1.14, 2.655).
    starts = [0.23, 0.5, 0.9, 1.25, 1.13, 2.6, 2.66]
    # In: 0.5, 0.9 and 1.25 (inside only because "were" shares the window of "there"), 2.6. Out:
    # 0.23 before "there", 1.13 just before "bottles" (though inside the window before), 2.66 past the end.
    timed = {"file": str(root / "en_1.flac"), "language": "en", "text": "there were bottles",
             "word_starts": [0.3, None, 1.2]}
    miscounted = {**timed, "file": str(root / "en_2.flac")}
    untimed = {"file": str(root / "zh_1.flac"), "language": "zh", "text": "李建华"}

    def fake_paraformer(token_starts):
        emitted = iter(token_starts)

        def transcribe(waveform, sample_rate, capture=()):
            return SimpleNamespace(tokens=[SimpleNamespace(start=s, end=s + 0.05) for s in next(emitted)],
                                   captures={"predictor.alphas": np.full(50, 0.25)} if capture else {})
        return SimpleNamespace(kind="paraformer", transcribe=transcribe,
                               config=SimpleNamespace(frontend_conf=FrontendConf()))

    emitted = [starts, starts[:6], [1.0, 1.1]]
    report = cif_check(fake_paraformer(emitted), [timed, miscounted, untimed], vocab)
    rows, summary = report["utterances"], report["summary"]
    assert (rows[0]["tokens_in_word"], rows[0]["timed_tokens"]) == (4, 7)
    assert not {"tokens_in_word", "timed_tokens"} & (rows[1].keys() | rows[2].keys())
    assert summary["tokens_in_word (synthesiser timings)"] == 4 / 7
    assert summary["utterances (synthesiser timings)"] == 1

    # Without word starts the same run reports exactly what it did before the word check existed.
    plain = cif_check(fake_paraformer(emitted), [{k: v for k, v in r.items() if k != "word_starts"}
                                                 for r in (timed, miscounted, untimed)], vocab)
    # No word of the timed text has both its start and the next word's ("were" has none), so
    # nothing is weighed here; test_word_weights_measure_each_timed_word_against_its_tokens does.
    assert rows[0]["word_weights"] == rows[1]["word_weights"] == []
    assert summary["weight_by_word_duration (synthesiser timings)"] == []
    new_keys = {"tokens_in_word (synthesiser timings)", "utterances (synthesiser timings)",
                "weight_by_word_duration (synthesiser timings)"}
    assert plain["summary"] == {k: v for k, v in summary.items() if k not in new_keys}
    assert plain["utterances"] == [{k: v for k, v in r.items()
                                    if k not in {"tokens_in_word", "timed_tokens", "word_weights"}} for r in rows]
    # Word starts but no exact count: nothing could be checked, which is not a rate of 0.
    none_checked = cif_check(fake_paraformer([starts[:6]]), [miscounted], vocab)["summary"]
    assert none_checked["tokens_in_word (synthesiser timings)"] is None
    assert none_checked["utterances (synthesiser timings)"] == 0

    # Word starts that do not match the words are refused, not paired wrongly.
    with pytest.raises(WorkbenchError, match=r"en_1.flac: 2 word starts for 3 words$"):
        cif_check(fake_paraformer([starts]), [{**timed, "word_starts": [0.3, 1.2]}], vocab)

    # `workbench eval` reads the word starts from a corpus manifest.
    manifest = tmp_path / "test.jsonl"
    manifest.write_text(json.dumps({"id": "en-0", "audio": "a.flac", "text": timed["text"], "language": "en",
                                    "word_starts": timed["word_starts"]}) + "\n")
    assert read_references(manifest)[0]["word_starts"] == [0.3, None, 1.2]


def test_word_weights_measure_each_timed_word_against_its_tokens():
    """The predictor's weight over the frames from a word's start to the next word's, beside the
    word's duration and token count; words without both starts, and the last word, are skipped."""
    from types import SimpleNamespace

    from workbench.cif_check import weight_by_duration, word_weights

    conf = FrontendConf()
    # LFR frame i is centred at 0.06·i + 0.0125 s: frame 5 (0.3125 s) is the first not before 0.3 s.
    assert [conf.frames_before(t) for t in (0.0, 0.3, 0.31, 1.2, 1.5)] == [0, 5, 5, 20, 25]
    vocab = SimpleNamespace(encode=lambda text: [0] * sum(1 + len(w) // 3 for w in text.split()))
    alphas = np.full(30, 0.1)
    alphas[20:25] = 0.4
    # "a" 0.0 → 0.3 s: frames 0–4; "bb" and "cc" lack a start or a following start; "ddd" 1.2 → 1.5
    # s: frames 20–24, two tokens; "ee" is last.
    weights = word_weights(alphas, "a bb cc ddd ee", [0.0, 0.3, None, 1.2, 1.5], vocab, conf)
    np.testing.assert_allclose(weights, [[0.3, 0.5, 1], [0.3, 2.0, 2]])

    rows = [{"word_weights": [[0.5, 1.5, 1], [0.1, 0.2, 1]]}, {"word_weights": [[0.2, 0.4, 1], [0.6, 3.6, 2]]}, {}]
    groups = weight_by_duration(rows, groups=2)
    assert [(g["seconds"], g["words"]) for g in groups] == [([0.1, 0.2], 2), ([0.5, 0.6], 2)]
    np.testing.assert_allclose([g["weight_per_token"] for g in groups], [0.3, 5.1 / 3])
    assert weight_by_duration(rows[:1], groups=3) == []
