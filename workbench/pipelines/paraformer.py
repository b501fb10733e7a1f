"""Paraformer end to end: audio → features → encoder → CIF → decoder → text with timestamps."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import numpy as np

from ..audio import SAMPLE_RATE, has_signal
from ..errors import CheckpointError
from ..frontend import CMVN, WavFrontend
from ..models.ctc import CAPTURE as CTC_CAPTURE
from ..models.ctc import CTC, greedy_ids, head_scores
from ..models.ctc_rescore import check_weight, load_ctc_head, rescore
from ..models.paraformer import BLANK_ID, EOS_ID, SOS_ID, Paraformer, ParaformerConfig
from ..result import Token, Transcription
from ..text import load_token_list, sentence_postprocess
from ..trace import Trace
from ..weights import load_weights_strict
from .common import (
    FRONTEND_NAMES,
    Stopwatch,
    audio_features,
    materialise,
    pad_stack,
    pass_lock,
    serialised,
)


def token_times(alphas: np.ndarray, fires: np.ndarray, frame_seconds: float, min_share: float = 0.1):
    """(start, end) in seconds for each token, from CIF's alphas and fire frames.

    Method: LFR frame i is taken to span [i, i+1)·frame_seconds (60 ms for LFR 6). A token ends
    at the end of the frame where it fired. It starts at the first frame that gave it at least
    `min_share` of a token's weight, searching from the previous token's fire frame (which hands
    its remainder to this token) — so silence before a token, where alphas are near zero, is not
    counted as part of it — and never before the previous token's end, so spans do not overlap.
    A fire on the appended tail frame is clamped to the last real frame.
    """
    n_frames = len(alphas)
    prefix = np.cumsum(alphas, dtype=np.float64)
    times = []
    for k, fire in enumerate(fires):
        end_frame = min(int(fire), n_frames - 1)
        start_frame = 0 if k == 0 else min(int(fires[k - 1]), n_frames - 1)
        for frame in range(start_frame, end_frame + 1):
            # Weight this frame gives to token k: its alpha clipped to the [k, k+1) interval.
            lo = prefix[frame] - alphas[frame]
            share = min(prefix[frame], k + 1) - max(lo, k)
            if share >= min_share:
                start_frame = frame
                break
        else:
            start_frame = end_frame
        previous_end = times[-1][1] if times else 0.0
        times.append((max(start_frame * frame_seconds, previous_end), (end_frame + 1) * frame_seconds))
    return times


# Each step either side of CIF's count adds two candidates to decode; beyond ±3 they are
# sentences CIF did not hear.
MAX_COUNT_SEARCH = 3


class ParaformerPipeline:
    kind = "paraformer"

    def __init__(self, model: Paraformer, cmvn: CMVN | None, tokens: list[str], name: str = "",
                 ctc_head: CTC | None = None):
        self.model = model
        self.ctc_head = ctc_head  # trained alongside a demo model; upstream's have none
        self.config: ParaformerConfig = model.config
        self.frontend = WavFrontend(self.config.frontend_conf, cmvn)
        self.tokens = tokens
        self.name = name
        self.lock = pass_lock()
        materialise(model)
        if ctc_head is not None:
            materialise(ctc_head)
        # LFR frames advance lfr_n fbank frames of frame_shift ms each.
        self.frame_seconds = self.config.frontend_conf.lfr_n * self.config.frontend_conf.frame_shift / 1000

    @classmethod
    def from_dir(cls, path: Path, config: dict, weights: dict[str, mx.array]) -> "ParaformerPipeline":
        model = Paraformer(ParaformerConfig.from_dict(config))
        tokens = load_token_list(path / "tokens.json")
        if len(tokens) != model.config.vocab_size:
            raise CheckpointError(f"{path}: tokens.json has {len(tokens)} tokens, "
                                  f"config says {model.config.vocab_size}")
        load_weights_strict(model, weights, str(path))
        cmvn = CMVN.from_file(path / "am.mvn")
        ctc_head = load_ctc_head(path, model.config.vocab_size, model.config.encoder_conf.output_size)
        return cls(model, cmvn, tokens, name=path.name, ctc_head=ctc_head)

    def check_ctc_rescore(self, weight) -> None:
        """ValueError unless `weight` is a CTC rescoring weight this model can use."""
        check_weight(weight, self.ctc_head, self.name)

    def capture_names(self) -> list[str]:
        return FRONTEND_NAMES + self.model.capture_names() + ([CTC_CAPTURE] if self.ctc_head is not None else [])

    def ctc_reading(self, logits) -> str:
        """The text of a `ctc.logits` capture read greedily: what the encoder alone hears."""
        return sentence_postprocess([self.tokens[t] for t in greedy_ids(logits, BLANK_ID)])

    def transcribe(self, audio, *, sample_rate: int | None = None, capture=(), count_search: int = 0,
                   ctc_rescore: float = 0.0) -> Transcription:
        return self.transcribe_batch([audio], sample_rate=sample_rate, capture=capture, count_search=count_search,
                                     ctc_rescore=ctc_rescore)[0]

    @serialised
    def transcribe_batch(self, audios: list, *, sample_rate: int | None = None, capture=(),
                         count_search: int = 0, ctc_rescore: float = 0.0) -> list[Transcription]:
        """Several clips in one pass. Padding is masked everywhere (attention keys, FSMN inputs,
        CIF context, decoder tokens), so each result equals that clip transcribed alone; timings
        are the batch's.

        `count_search` = k > 0 decodes every count within k of CIF's and keeps the one the decoder
        is surest of (`Paraformer.search_count`); 0 is upstream's single pass. With it, the
        captured `predictor.alphas` and `predictor.fires` are the chosen count's rescaled ones, the
        weights the tokens were integrated from (the predictor's own are those of a single pass),
        and `extra` holds CIF's own count and every tried count's score.

        `ctc_rescore` = w > 0 chooses among the decoder's most likely sentences (of the chosen
        count) by decoder log-probability + w × the CTC head's log-likelihood
        (`models/ctc_rescore.py`; models trained with a CTC head only); `extra["ctc_rescore"]`
        then says which of the decoder's candidates won (rank 0: its own first choice). The
        captures stay the single pass's; the tokens carry their decoder log-probabilities.
        """
        if not isinstance(count_search, int) or not 0 <= count_search <= MAX_COUNT_SEARCH:
            raise ValueError(f"count_search must be an integer from 0 to {MAX_COUNT_SEARCH}, got {count_search!r}")
        self.check_ctc_rescore(ctc_rescore)
        trace = Trace(capture, self.capture_names())
        watch = Stopwatch()
        waveforms, features = audio_features(self.frontend, audios, sample_rate, trace)
        watch.lap("frontend")

        lengths = [f.shape[0] for f in features]
        mask = None
        if len(set(lengths)) > 1:
            mask = (mx.arange(max(lengths))[None] < mx.array(lengths)[:, None]).astype(mx.float32)
        enc = self.model.encode(mx.array(pad_stack(features)), mask, trace)
        mx.eval(enc)
        watch.lap("encoder")
        ctc_logits = head_scores(self.ctc_head, enc, trace, needed=bool(ctc_rescore))
        cif = self.model.predict(enc, lengths, mask, trace)
        watch.lap("predictor")
        # Digital silence gets no tokens (see has_signal); the model still runs, for its captures.
        signal = [has_signal(w) for w in waveforms]
        cif_counts, count_scores = cif.token_num, None
        if count_search:
            cif, count_scores = self.model.search_count(cif, enc, lengths, count_search, signal, trace)
            watch.lap("count search")
        counts = [n if s else 0 for s, n in zip(signal, cif.token_num)]
        ids = best = None
        if max(counts) > 0:
            logits = self.model.decode(cif, enc, lengths, trace)
            logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
            ids = mx.argmax(logprobs, axis=-1)
            best = mx.take_along_axis(logprobs, ids[..., None], axis=-1)[..., 0]
            mx.eval(ids, best)
            ids, best = ids.tolist(), best.tolist()
        watch.lap("decoder")
        rescored: list[dict | None] = [None] * len(waveforms)
        if ctc_rescore and max(counts) > 0:
            rescored = self._rescore(logprobs, ctc_logits, lengths, counts, ctc_rescore, ids, best)
            watch.lap("ctc rescoring")
        timings = watch.finish()

        results = []
        for b, waveform in enumerate(waveforms):
            n = counts[b]
            tokens: list[Token] = []
            if n > 0:
                times = token_times(cif.alphas[b], cif.fires[b], self.frame_seconds)
                for i, score, (t0, t1) in zip(ids[b][:n], best[b][:n], times):
                    if i not in (BLANK_ID, SOS_ID, EOS_ID):
                        tokens.append(Token(i, self.tokens[i], score, round(t0, 3), round(t1, 3)))
            results.append(Transcription(
                text=sentence_postprocess([t.text for t in tokens]),
                tokens=tokens,
                duration=len(waveform) / SAMPLE_RATE,
                timings=dict(timings),
                captures=_trim(trace.collect(b), lengths[b], n),
                model=self.name,
                extra=_extra(None if count_scores is None else (cif_counts[b], count_scores[b]), rescored[b]),
            ))
        return results

    def _rescore(self, logprobs: mx.array, ctc_logits: mx.array, lengths: list[int], counts: list[int],
                 weight: float, ids: list[list[int]], best: list[list[float]]) -> list[dict | None]:
        """CTC rescoring of each clip with tokens: replaces its `ids` and `best` (the chosen
        tokens' decoder log-probabilities) in place; returns what `extra` reports per clip."""
        scores = np.array(logprobs)
        out: list[dict | None] = []
        for b, n in enumerate(counts):
            if n == 0:
                out.append(None)
                continue
            choice = rescore(scores[b, :n], ctc_logits[b, : lengths[b]], weight, (BLANK_ID, SOS_ID, EOS_ID))
            ids[b][:n] = choice["ids"]
            best[b][:n] = [float(scores[b, i, t]) for i, t in enumerate(choice["ids"])]
            out.append({"weight": weight, "rank": choice["rank"], "candidates": choice["candidates"]})
        return out


def _extra(count_search: tuple[int, dict] | None, rescored: dict | None) -> dict:
    """What a transcription's `extra` says of the optional decoding steps that ran."""
    extra = {} if count_search is None else {"cif_count": count_search[0], "count_scores": count_search[1]}
    return extra if rescored is None else {**extra, "ctc_rescore": rescored}


def _trim(captures: dict[str, np.ndarray], frames: int, tokens: int) -> dict[str, np.ndarray]:
    """Cut batch padding off captured arrays: encoder arrays to the clip's frames, decoder arrays
    to its tokens (and cross-attention keys to its frames)."""
    out = {}
    for name, value in captures.items():
        if name.startswith("encoder.") and name.endswith(".attn"):
            value = value[:, :frames, :frames]
        elif name.startswith(("encoder.", "ctc.")):
            value = value[:frames]
        elif name.endswith(".cross_attn"):
            value = value[:, :tokens, :frames]
        elif name.startswith("decoder."):
            value = value[:tokens]
        out[name] = value
    return out
