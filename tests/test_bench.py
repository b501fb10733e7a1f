"""The benchmark harness runs end to end (figures themselves are recorded in docs/benchmarks.md)."""

import pytest

from workbench.bench import _decode_rate, bench
from workbench.errors import WorkbenchError


def test_paraformer_bench_against_upstream_reports_every_field():
    report = bench("paraformer", size="tiny", seconds=2.0, repeat=2, warmup=1, vs_upstream=True)
    assert report["ours_median_s"] > 0 and report["upstream_median_s"] > 0
    assert set(report["ours_stages_ms"]) == {"frontend", "encoder", "predictor", "decoder", "total"}
    expected = report["upstream_median_s"] / report["ours_median_s"]  # from the rounded medians
    assert abs(report["speedup_vs_upstream"] - expected) <= 0.01 + 0.01 * expected


def test_nano_bench_against_upstream_generates_the_fixed_number_of_tokens():
    # Enough tokens that decoding outlasts the jitter of a shared 2-core machine: with 6, upstream's
    # six-token median once came out shorter than its one-token median.
    report = bench("nano", size="tiny", seconds=2.0, repeat=3, warmup=1, new_tokens=40, vs_upstream=True)
    assert report["ours_generated_tokens"] == 40 and "prefill" in report["ours_stages_ms"]
    assert report["ours_decode_tokens_per_s"] > 0 and report["upstream_decode_tokens_per_s"] > 0
    expected = report["ours_decode_tokens_per_s"] / report["upstream_decode_tokens_per_s"]
    assert abs(report["decode_speedup_vs_upstream"] - expected) <= 0.01 + 0.01 * expected


def test_decode_time_below_the_noise_is_refused_not_reported_as_a_speed():
    with pytest.raises(WorkbenchError, match="below the timing noise"):
        _decode_rate(6, 0.100, 0.109, "upstream")
    assert _decode_rate(6, 0.150, 0.100, "ours") == 100.0
