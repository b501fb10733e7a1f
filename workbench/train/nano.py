"""Training objective for Fun-ASR-Nano: next-token loss on the upstream chat prompt layout.

Each example becomes [prompt prefix | audio embeddings | prompt suffix | transcript <|im_end|>],
exactly the sequence inference builds, and only the transcript positions carry loss. The audio
span is the first ceil(T/8) adaptor frames (upstream's rule); the demo adaptor stacks 8 frames
(downsample_rate 8), so those are all of its frames.
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from ..frontend import CMVN
from ..models.ctc import CTC, ctc_loss
from ..models.fun_asr_nano import FunASRNano, n_audio_positions
from ..pipelines.common import pad_stack as pad
from .data import Example

IGNORE = -100


def make_batch(examples: list[Example], idx: list[int], targets: list[list[int]], cmvn: CMVN | None = None) -> dict:
    """Padded inputs for the examples `idx`, normalised by `cmvn` where the model has one."""
    feats = [cmvn(examples[i].features) if cmvn is not None else examples[i].features.astype(np.float32)
             for i in idx]
    return {
        "feats": mx.array(pad(feats)),
        "feat_lens": [len(f) for f in feats],
        "targets": [targets[i] for i in idx],
    }


def loss_fn(model: FunASRNano, batch: dict, prefix: list[int], suffix: list[int], ctc: CTC | None = None,
            ctc_weight: float = 0.0, llm_loss: bool = True):
    """Next-token loss on the transcript, plus w·CTC on the encoder output as upstream trains Nano
    (there through a small Transformer `ctc_decoder`; here the projection alone). Without
    `llm_loss` (a CTC head trained alone on a frozen model) only the CTC term is computed: the
    adaptor and the LLM could not change it."""
    feats, feat_lens, targets = batch["feats"], batch["feat_lens"], batch["targets"]
    T = feats.shape[1]
    lens = mx.array(feat_lens)
    mask = (mx.arange(T)[None] < lens[:, None]).astype(feats.dtype)
    enc = model.audio_encoder(feats, mask)
    metrics, loss = {}, mx.array(0.0)
    if llm_loss:
        loss, metrics["token_acc"] = _next_token_loss(model, enc, lens, feat_lens, targets, prefix, suffix)
    if ctc is not None:
        # CTC targets: the transcript without <|im_end|>; the blank is the id after the vocabulary.
        ys = [y[:-1] for y in targets]
        metrics["ctc"] = ctc_loss(ctc(enc), lens, mx.array(pad([np.array(y, dtype=np.int32) for y in ys], 0)),
                                  mx.array([len(y) for y in ys]), blank=ctc.ctc_lo.weight.shape[0] - 1)
        if llm_loss:
            metrics["llm_loss"] = loss
        loss = loss + ctc_weight * metrics["ctc"]
    return loss, metrics


def _next_token_loss(model: FunASRNano, enc: mx.array, lens: mx.array, feat_lens: list[int],
                     targets: list[list[int]], prefix: list[int], suffix: list[int]) -> tuple[mx.array, mx.array]:
    """The LLM's mean cross-entropy on the transcript tokens after prompt and audio, and its accuracy."""
    adapted = model.audio_adaptor(enc, lens)
    llm = model.llm
    prefix_emb, suffix_emb = llm.embed(mx.array(prefix)), llm.embed(mx.array(suffix))
    rows, labels = [], []
    for b, (length, ys) in enumerate(zip(feat_lens, targets)):
        n_audio = n_audio_positions(length)
        rows.append(mx.concatenate([prefix_emb, adapted[b, :n_audio], suffix_emb, llm.embed(mx.array(ys[:-1]))]))
        # Position i predicts token i+1: the last suffix position predicts the first transcript token.
        start = len(prefix) + n_audio + len(suffix) - 1
        labels.append(np.array([IGNORE] * start + list(ys), dtype=np.int32))
    longest = max(r.shape[0] for r in rows)
    embeds = mx.stack([mx.pad(r, [(0, longest - r.shape[0]), (0, 0)]) for r in rows])
    labels = mx.array(pad(labels, IGNORE))
    logits = llm(embeds)  # right padding: causal attention keeps real positions unaffected
    valid = labels != IGNORE
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    nll = -mx.take_along_axis(logp, mx.maximum(labels, 0)[..., None], axis=-1)[..., 0]
    n = valid.sum()
    return (nll * valid).sum() / n, ((logits.argmax(-1) == labels) * valid).sum() / n
