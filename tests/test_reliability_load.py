"""Load: one loaded pipeline serves many threads at once, correctly and in bounded memory, and a
process whose worker threads used it exits cleanly.

Pipelines run one forward pass at a time (a lock in the pipeline, see pipelines/common.py): the
passes share weights, and on a CPU parallel passes only compete for the same cores.
"""

import resource
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
import soundfile as sf
import soxr

import workbench

ROOT = Path(__file__).parent.parent
CLIPS = sorted(p.name for p in (ROOT / "sample_audio").glob("*.flac") if p.name != "long_zh.flac")


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


@pytest.fixture(scope="module")
def demo():
    return workbench.load("paraformer-demo")


def requests(n: int) -> list[tuple[str, object]]:
    """n requests cycling through the clips, each as a path, a 48 kHz stereo int16 (rate, array)
    tuple like Gradio's, or a 22.05 kHz float (rate, array) tuple, in turn."""
    out = []
    for i in range(n):
        name = CLIPS[i % len(CLIPS)]
        data, rate = sf.read(ROOT / "sample_audio" / name, dtype="float32")
        form = i % 3
        if form == 0:
            out.append((name, ROOT / "sample_audio" / name))
        elif form == 1:
            pcm = (soxr.resample(data, rate, 48000) * 32767).astype(np.int16)
            out.append((name, (48000, np.stack([pcm, pcm], axis=1))))
        else:
            out.append((name, (22050, soxr.resample(data, rate, 22050))))
    return out


def test_twenty_concurrent_requests_are_correct_and_memory_stays_bounded(demo):
    work = requests(20)
    mx.reset_peak_memory()
    sequential = [demo.transcribe(audio).text for _, audio in work]
    one_at_a_time, held = mx.get_peak_memory(), mx.get_active_memory()
    rss_before = peak_rss_mb()

    with ThreadPoolExecutor(20) as pool:
        texts = list(pool.map(lambda request: demo.transcribe(request[1]).text, work))
    assert texts == sequential
    # Passes are serialised, so twenty callers need no more MLX memory than one, and none keeps
    # arrays alive afterwards. The process itself grows (measured: 50-60 MB here) because glibc
    # gives new threads their own malloc arenas, which keep freed memory; further rounds add
    # little (+37, +5, +1 MB), so the growth levels off.
    assert mx.get_peak_memory() <= 1.05 * one_at_a_time
    assert mx.get_active_memory() <= held
    assert peak_rss_mb() - rss_before < 100


def test_worker_threads_leave_a_process_that_exits_cleanly(tmp_path):
    # Regression: weights loaded in one thread could not be evaluated in another ("There is no
    # Stream(cpu, 0) in current thread"), and threads that ran MLX's compiled activations
    # aborted the process at exit ("terminate called without an active exception", rc 134).
    # Both are per-thread MLX state, so this runs in a fresh interpreter.
    script = textwrap.dedent(f"""
        from concurrent.futures import ThreadPoolExecutor
        import workbench
        from workbench.quantize import apply_levels
        plain = workbench.load("paraformer-demo")  # not used in this thread before the workers
        quantized = workbench.load("paraformer-demo")
        apply_levels(quantized.model, "paraformer", {{"encoder": "8bit"}})
        clip = {str(ROOT / "sample_audio" / "zh_1.flac")!r}
        with ThreadPoolExecutor(8) as pool:
            texts = set(pool.map(lambda i: (plain, quantized)[i % 2].transcribe(clip).text, range(16)))
        print(len(texts) >= 1 and all(texts))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr[-2000:]
