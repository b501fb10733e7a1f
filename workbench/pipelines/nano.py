"""Fun-ASR-Nano end to end: audio → features → SenseVoice encoder → adaptor → Qwen3 → text.

Decoding is delegated to `workbench.decoding`, so every strategy (greedy, sampling, beam)
runs on the same model calls and returns the same per-step records.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import mlx.core as mx
import numpy as np

from ..audio import SAMPLE_RATE, has_signal
from ..decoding import DecodeResult, DecodingConfig, Hypothesis, generate
from ..errors import CaptureError
from ..frontend import CMVN, WavFrontend
from ..models.ctc import CAPTURE as CTC_CAPTURE
from ..models.ctc import CTC, greedy_ids, head_scores
from ..models.ctc_rescore import check_weight, load_ctc_head, rescore_hypotheses
from ..models.fun_asr_nano import FunASRNano, FunASRNanoConfig, n_audio_positions
from ..prompt import NanoPrompt
from ..result import Token, Transcription
from ..trace import Trace
from ..weights import load_weights_strict
from .common import (
    FRONTEND_NAMES,
    Stopwatch,
    audio_features,
    materialise,
    pass_lock,
    serialised,
)

DTYPES = {"fp32": mx.float32, "bf16": mx.bfloat16, "fp16": mx.float16}
STEP_NAMES = ["llm.steps", "llm.logits"]
# CTC rescoring's candidates when the decoding asked for is not a beam search already: the beam
# search's finished sentences at this width (the demo's zh_3 needed its third, mixed_1 its second).
RESCORE_BEAMS = 8


def rescoring_search(decoding: DecodingConfig) -> DecodingConfig:
    """The beam search CTC rescoring chooses from, for the decoding asked for: that beam search,
    or one `RESCORE_BEAMS` wide in place of greedy or sampling; every finished sentence kept."""
    beams = decoding.num_beams if decoding.strategy == "beam" else RESCORE_BEAMS
    return dataclasses.replace(decoding, strategy="beam", num_beams=beams, n_best=beams)


def clean_text(text: str) -> str:
    """Upstream's output clean-up: '/sil' markers become spaces, whitespace runs collapse."""
    return re.sub(r"\s+", " ", text.replace("/sil", " "))


class _StepCapture:
    """Per-step LLM internals for one sequence: logits and each layer's attention row of the
    position that produced the next token (prompt+audio+generated positions so far)."""

    def __init__(self, trace: Trace, n_layers: int):
        self.want_logits = trace.wants("llm.logits")
        self.layers = [i for i in range(n_layers) if trace.wants(f"llm.layers.{i}.attn")]
        self.inner = Trace([f"llm.layers.{i}.attn" for i in self.layers])
        self.logits: list[mx.array] = []
        self.rows: dict[int, list[mx.array]] = {i: [] for i in self.layers}

    def record(self, logits: mx.array) -> None:
        if self.want_logits:
            self.logits.append(logits[0])
        for i in self.layers:
            self.rows[i].append(self.inner.values[f"llm.layers.{i}.attn"][0, :, -1])

    def store(self, trace: Trace, n_tokens: int) -> None:
        """Rows beyond the generated tokens (the step after the stop token) are dropped."""
        if self.want_logits:  # no tokens (silence): an empty [0, vocab] array, as the prefill's width
            logits = mx.stack(self.logits[:n_tokens]) if n_tokens else mx.zeros((0, self.logits[0].shape[-1]))
            trace.put("llm.logits", [np.array(logits.astype(mx.float32))])
        for i, rows in self.rows.items():
            rows = rows[:n_tokens]
            width = rows[-1].shape[-1] if rows else 0
            padded = [mx.pad(r, [(0, 0), (0, width - r.shape[-1])]) for r in rows]
            attn = mx.stack(padded, axis=1) if padded else mx.zeros((0, 0, 0))
            trace.put(f"llm.layers.{i}.attn", [np.array(attn.astype(mx.float32))])


class NanoPipeline:
    kind = "fun_asr_nano"

    def __init__(self, model: FunASRNano, prompt: NanoPrompt, name: str = "", ctc_head: CTC | None = None,
                 cmvn: CMVN | None = None):
        self.model = model
        # Trained on the frozen encoder of a demo model (`train --train-only ctc`); upstream's
        # published checkpoint has none.
        self.ctc_head = ctc_head
        self.config: FunASRNanoConfig = model.config
        # Upstream's Nano normalises no features; a demo whose encoder came from a Paraformer
        # (`train nano --encoder-init`) keeps that encoder's am.mvn.
        self.frontend = WavFrontend(self.config.frontend_conf, cmvn)
        self.prompt = prompt
        self.name = name
        self.lock = pass_lock()
        materialise(model)
        if ctc_head is not None:
            materialise(ctc_head)

    @classmethod
    def from_dir(cls, path: Path, config: dict, weights: dict[str, mx.array]) -> "NanoPipeline":
        model = FunASRNano(FunASRNanoConfig.from_dict(config))
        prompt = NanoPrompt(path / "tokenizer.json")
        load_weights_strict(model, weights, str(path))
        # The head's vocabulary is the LLM's plus a blank after it.
        ctc_head = load_ctc_head(path, model.config.llm_conf.vocab_size + 1,
                                 model.config.audio_encoder_conf.output_size)
        cmvn = CMVN.from_file(path / "am.mvn") if (path / "am.mvn").is_file() else None
        return cls(model, prompt, name=path.name, ctc_head=ctc_head, cmvn=cmvn)

    def check_ctc_rescore(self, weight) -> None:
        """ValueError unless `weight` is a CTC rescoring weight this model can use."""
        check_weight(weight, self.ctc_head, self.name)

    @serialised
    def set_llm_dtype(self, dtype: str) -> None:
        self.model.set_llm_dtype(DTYPES[dtype])
        materialise(self.model.llm)

    def capture_names(self) -> list[str]:
        head = [CTC_CAPTURE] if self.ctc_head is not None else []
        return FRONTEND_NAMES + self.model.capture_names() + head + STEP_NAMES

    def ctc_reading(self, logits) -> str:
        """The text of a `ctc.logits` capture read greedily: what the encoder alone hears."""
        return clean_text(self.prompt.decode(greedy_ids(logits, blank=logits.shape[-1] - 1)))

    @serialised
    def transcribe(
        self,
        audio,
        *,
        sample_rate: int | None = None,
        capture=(),
        decoding: DecodingConfig | None = None,
        hotwords: list[str] | None = None,
        language: str | None = None,
        itn: bool = True,
        ctc_rescore: float = 0.0,
    ) -> Transcription:
        """`ctc_rescore` = w > 0 decodes by beam search (`rescoring_search`) and keeps, of its
        finished sentences, the one with the highest summed log-probability + w × the CTC head's
        log-likelihood (`models/ctc_rescore.py`; models with a head only); `extra["ctc_rescore"]`
        says which and among how many."""
        self.check_ctc_rescore(ctc_rescore)
        decoding = decoding or DecodingConfig(max_new_tokens=512)
        if ctc_rescore:
            decoding = rescoring_search(decoding)
        if not decoding.stop_tokens:
            decoding = dataclasses.replace(decoding, stop_tokens=self.prompt.stop_tokens)
        trace = Trace(capture, self.capture_names())
        steps = _StepCapture(trace, len(self.model.llm.model.layers))
        if decoding.strategy == "beam" and (steps.want_logits or steps.layers):
            raise CaptureError("llm.logits and llm.layers.*.attn follow one sequence; use greedy or sample "
                               "without CTC rescoring to capture them")
        watch = Stopwatch()
        (waveform,), (features,) = audio_features(self.frontend, [audio], sample_rate, trace)
        watch.lap("frontend")

        enc = self.model.audio_encoder(mx.array(features)[None], None, trace)
        mx.eval(enc)
        watch.lap("encoder")
        ctc_logits = head_scores(self.ctc_head, enc, trace, needed=bool(ctc_rescore))
        adapted = self.model.audio_adaptor(enc, None, trace)
        n_audio = n_audio_positions(features.shape[0])
        mx.eval(adapted)
        watch.lap("adaptor")

        llm = self.model.llm
        prefix, suffix = self.prompt.ids(hotwords, language, itn)
        prefix_embeds, suffix_embeds = llm.embed(mx.array(prefix)), llm.embed(mx.array(suffix))
        # The audio joins the prompt in the embeddings' output dtype (the table's own dtype is
        # uint32 once it is quantized).
        embeds = mx.concatenate([prefix_embeds, adapted[0, :n_audio].astype(prefix_embeds.dtype), suffix_embeds])
        cache = llm.new_cache()
        first = llm(embeds[None], cache, steps.inner)[:, -1]
        steps.record(first)
        mx.eval(first)
        watch.lap("prefill")

        def step(tokens: mx.array, cache):
            logits = llm(llm.embed(tokens)[:, None], cache, steps.inner)[:, -1]
            steps.record(logits)
            return logits.astype(mx.float32), cache

        if has_signal(waveform):
            result = generate(step, first[0].astype(mx.float32), decoding, cache=cache)
        else:  # digital silence (see has_signal): nothing to transcribe, the LLM would invent text
            result = DecodeResult([Hypothesis([], [], 0.0, "no_signal")])
        best = result.best
        watch.lap("decode")
        rescored = None
        if ctc_rescore and result.hypotheses and best.finish_reason != "no_signal":
            rescored = rescore_hypotheses(result.hypotheses, ctc_logits[0], ctc_rescore,
                                          blank=ctc_logits.shape[-1] - 1)
            best = result.hypotheses[rescored["rank"]]
            watch.lap("ctc rescoring")

        steps.store(trace, len(best.steps))
        trace.put("llm.steps", [_steps_array(best.steps)])
        tokens = [Token(s.token, self.prompt.decode([s.token]), s.logprob) for s in best.steps[: len(best.tokens)]]
        timings = watch.finish()
        return Transcription(
            text=clean_text(self.prompt.decode(best.tokens)),
            tokens=tokens,
            duration=len(waveform) / SAMPLE_RATE,
            timings=timings,
            captures=trace.collect(0),
            model=self.name,
            extra={
                "n_audio_positions": n_audio,
                "decode_tokens_per_s": 1000 * len(best.steps) / max(timings["decode"], 1e-9),
                "prompt_ids": {"prefix": prefix, "suffix": suffix},
                "finish_reason": best.finish_reason,
                "loop": best.loop,
                "steps": [s.__dict__ for s in best.steps],
                "hypotheses": [
                    {"text": clean_text(self.prompt.decode(h.tokens)), "score": h.score,
                     "finish_reason": h.finish_reason}
                    for h in result.hypotheses
                ],
                **({"ctc_rescore": rescored} if rescored is not None else {}),
            },
        )


def _steps_array(steps) -> np.ndarray:
    """The per-step records as one structured array (token, logprob, entropy, top ids/probs)."""
    k = max((len(s.top) for s in steps), default=0)
    dtype = [("token", "i8"), ("logprob", "f4"), ("sampling_logprob", "f4"), ("entropy", "f4"),
             ("top_ids", "i8", (k,)), ("top_probs", "f4", (k,))]
    out = np.zeros(len(steps), dtype=dtype)
    for i, s in enumerate(steps):
        out[i] = (s.token, s.logprob, s.sampling_logprob, s.entropy, [t for t, _ in s.top], [p for _, p in s.top])
    return out
