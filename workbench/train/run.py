"""`workbench train paraformer|nano`: corpus → trained, exported demo model directory."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from functools import reduce
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten

from ..config import from_dict
from ..convert.common import write_model_dir
from ..corpus.build import load_manifest
from ..errors import CheckpointError, WorkbenchError
from ..frontend import CMVN, FrontendConf
from ..models.ctc import CTC, CTC_HEAD_FILE
from ..models.fun_asr_nano import FunASRNano, FunASRNanoConfig
from ..models.paraformer import Paraformer, ParaformerConfig
from ..prompt import NanoPrompt
from ..weights import load_weights_strict
from . import nano as nano_objective
from . import paraformer as paraformer_objective
from .data import batches, global_cmvn, load_examples
from .loop import TrainConfig, train
from .vocab import ParaformerVocab, train_nano_tokenizer

# Small enough to ship (< 25 MB in fp16) and to train in minutes on one GPU.
PARAFORMER_DEMO = {
    "encoder_conf": {"output_size": 256, "attention_heads": 4, "linear_units": 1024, "num_blocks": 8},
    "decoder_conf": {"attention_heads": 4, "linear_units": 1024, "num_blocks": 3, "att_layer_num": 3},
    "predictor_conf": {"idim": 256},
}
NANO_DEMO = {
    "audio_encoder_conf": {"output_size": 256, "attention_heads": 4, "linear_units": 1024, "num_blocks": 6,
                           "tp_blocks": 1},
    # Stacking 8 frames makes the adaptor's output exactly the ceil(T/8) positions upstream feeds the LLM.
    "audio_adaptor_conf": {"downsample_rate": 8, "encoder_dim": 256, "llm_dim": 256, "ffn_dim": 512, "n_layer": 1,
                           "attention_heads": 4},
    "llm_conf": {"hidden_size": 256, "num_hidden_layers": 4, "intermediate_size": 768, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 64, "tie_word_embeddings": True},
}


# The CTC head is exported beside the model, not in it, so the model's weights stay upstream-shaped
# (inference may use the head to rescore, `models/ctc_rescore.py`), while a continuation (`--init`)
# resumes the head instead of relearning it: a fresh head's loss starts near 6 nats per token and
# its large gradients reach the encoder for hundreds of steps (scripts/gpu/README.md, the eighth run).


class Trainee(nn.Module):
    """What the optimiser updates: the inference model plus, when the recipe uses CTC, the
    CTC head on the encoder. Only `model` is exported as the model."""

    def __init__(self, model: nn.Module, ctc_vocab: int, encoder_dim: int, ctc_weight: float):
        super().__init__()
        self.model = model
        self.ctc_weight = ctc_weight
        if ctc_weight > 0:
            self.ctc = CTC(ctc_vocab, encoder_dim)

    @property
    def ctc_head(self) -> CTC | None:
        return self.get("ctc")

    def restore_ctc_head(self, init: Path | None, adapt=None) -> None:
        """Continue the CTC head of the run `init` was exported from, when that run kept one and
        this one trains one (its weights passed through `adapt` first, if given)."""
        if init is not None and self.ctc_head is not None and (Path(init) / CTC_HEAD_FILE).is_file():
            weights = mx.load(str(Path(init) / CTC_HEAD_FILE))
            load_weights_strict(self.ctc_head, adapt(weights) if adapt else weights, str(init))

    def export_files(self, work: Path) -> dict[str, Path]:
        """The side files to export with the model: the CTC head, in fp16 as the model, if any."""
        if self.ctc_head is None:
            return {}
        mx.save_safetensors(str(work / CTC_HEAD_FILE), _half(self.ctc_head))
        return {CTC_HEAD_FILE: work / CTC_HEAD_FILE}


def _stream(lengths, max_frames):
    def stream(seed):
        rng = np.random.default_rng(seed)
        while True:
            yield from batches(lengths, max_frames, rng)

    return stream


def _half(model) -> dict[str, mx.array]:
    return {k: v.astype(mx.float16) for k, v in tree_flatten(model.parameters())}


def _check_init(init: Path, family: str, vocab_file: str, purpose: str = "to continue from") -> None:
    """Refuse, before any features are extracted, a directory that is not an exported model of `family`."""
    missing = [name for name in ("model.safetensors", vocab_file) if not (Path(init) / name).is_file()]
    if missing:
        raise CheckpointError(f"{init}: not a {family} model directory {purpose} (no {', '.join(missing)})")


def _check_train_only(parts: list[str] | None, init: Path | None, ctc_weight: float) -> None:
    """Refuse, before any features are extracted, `--train-only` without a run to continue, or naming
    weights the earlier run does not have. `ctc` (the head's upstream key prefix) names the CTC head,
    which a run with a CTC weight has whether or not the earlier one had: a head trained alone on a
    frozen model reads what that model's encoder already hears."""
    if parts is None:
        return
    if init is None:
        raise WorkbenchError("--train-only continues a run: give --init (a model part cannot be trained alone from "
                             "random weights around it)")
    names = sorted(mx.load(str(Path(init) / "model.safetensors")))
    for part in parts:
        if _names_ctc_head(part):
            if ctc_weight <= 0:
                raise WorkbenchError(f"--train-only {part}: the CTC head is trained only with --ctc-weight above 0")
            continue
        if not any(name == part or name.startswith(part + ".") for name in names):
            top = ", ".join(sorted({name.split(".")[0] for name in names}))
            # A real layer of this model as the example: the first weight name's prefix up to its layer number.
            layered = next(name.split(".") for name in names if any(p.isdigit() for p in name.split(".")))
            layer = ".".join(layered[:next(i for i, p in enumerate(layered) if p.isdigit()) + 1])
            raise WorkbenchError(f"--train-only {part}: {init} has no weights under that name (name a part by its "
                                 f"weights' prefix: {top}, ctc for the CTC head, or a layer such as {layer})")


def _names_ctc_head(part: str) -> bool:
    return part == "ctc" or part.startswith("ctc.")


def freeze_all_but(trainee: "Trainee", parts: list[str] | None) -> None:
    """Let the optimiser update only the named parts of the model (weight-name prefixes such as
    `predictor`, `encoder.encoders.6` or `predictor.cif_output.bias`, or `ctc` for the CTC head);
    None leaves everything trainable. The CTC head, part of no exported model, stays frozen unless
    named."""
    if parts is None:
        return

    def child(node, key: str):  # a module's member, or a layer of a list of layers
        return node[int(key)] if isinstance(node, list) else node[key]

    trainee.freeze()
    for part in parts:
        *path, last = part.split(".")
        # The head hangs off the trainee beside the model, under its own upstream key `ctc`.
        parent = reduce(child, path, trainee if _names_ctc_head(part) else trainee.model)
        node = child(parent, last)
        if isinstance(node, (nn.Module, list)):
            for module in node if isinstance(node, list) else [node]:
                module.unfreeze()
        else:  # one weight array of `parent`
            parent.unfreeze(recurse=False, keys=last)


def _frontends(init: Path | None, frame_length: int | None, pitch: bool,
               pitch_gain: float = 1.0) -> tuple[FrontendConf, FrontendConf]:
    """The earlier run's frontend (`init`'s; upstream's when there is none) and this run's: the same,
    with its analysis window set to `frame_length` ms when given and pitch features added when
    `pitch` (at `pitch_gain`, unless the earlier run has them already). Upstream's 25 ms window
    cannot resolve the harmonics of a voice near 80 Hz (its Hamming main lobe is wider than their
    spacing), and the filterbank does not say where a voice's register lies, so a demo trained on
    low male voices barely hears their tones (docs/reliability.md)."""
    earlier = FrontendConf()
    if init is not None and (Path(init) / "config.json").is_file():
        earlier = from_dict(FrontendConf, json.loads((Path(init) / "config.json").read_text()).get("frontend_conf"),
                            f"{init}: frontend_conf")
    conf = earlier
    if frame_length is not None:
        if frame_length < conf.frame_shift:  # frames would skip audio between them
            raise WorkbenchError(f"--frame-length {frame_length}: the window must be at least the "
                                 f"{conf.frame_shift} ms frame shift")
        # Held to the bound a loaded config.json is (config.from_dict): past it, the run would export
        # a model that no one can load.
        conf = from_dict(FrontendConf, {**asdict(conf), "frame_length": frame_length}, "--frame-length: frontend_conf")
    if not pitch:
        return earlier, conf
    return earlier, replace(conf, pitch=True, pitch_gain=conf.pitch_gain if conf.pitch else pitch_gain)


def widen_input(weights: dict[str, mx.array], old: FrontendConf, new: FrontendConf) -> dict[str, mx.array]:
    """An earlier run's weights for a frontend with more features per frame (pitch added): in the
    encoder's first layer, the only one that sees the features, each earlier feature keeps its
    column and a new one starts at zero (its LayerNorm scale at one). The model starts near the
    earlier one, not equal to it: that LayerNorm's mean and variance now take in the new features
    too (nano-demo widened for pitch: 92 % of a batch's tokens right before any step, against 98 %
    unwidened), and training learns what the new features add."""
    if new.frame_dim == old.frame_dim:
        return weights
    per_frame = np.zeros((new.lfr_m, new.frame_dim), dtype=bool)
    per_frame[:, :old.frame_dim] = True
    keep = per_frame.reshape(-1)  # LFR stacks whole frames: frame 0's features, then frame 1's, ...
    out = dict(weights)
    for name, value in weights.items():
        if ".encoders0.0." not in name or value.shape[-1] != old.output_dim:
            continue
        fill = 1.0 if name.endswith("norm1.weight") else 0.0
        wide = np.full(value.shape[:-1] + (new.output_dim,), fill, dtype=np.float32)
        wide[..., keep] = np.array(value.astype(mx.float32))
        out[name] = mx.array(wide).astype(value.dtype)
    return out


def _feature_cmvn(init: Path | None, examples, frontend_changed: bool) -> CMVN:
    """The feature normalisation to train with: the earlier run's am.mvn, since its weights were
    trained on it (this corpus's own statistics, another mix of languages and sentence kinds,
    would move every layer's inputs at step 0), unless there is none or the features changed. A
    new window changes every bin's level (a longer one sums more power) and new features have no
    statistics yet; this corpus's own put them back where the earlier weights expect them."""
    if init is None or frontend_changed:
        return CMVN(*global_cmvn(examples))
    return CMVN.from_file(Path(init) / "am.mvn")


def graft_encoder(weights: dict[str, mx.array], paraformer: dict[str, mx.array]) -> dict[str, mx.array]:
    """A Nano's weights with its audio encoder replaced by a Paraformer's: the same SAN-M layers
    under another prefix (`encoder.*` there, `audio_encoder.*` here)."""
    out = {name: value for name, value in weights.items() if not name.startswith("audio_encoder.")}
    out.update({"audio_" + name: value for name, value in paraformer.items() if name.startswith("encoder.")})
    return out


def _initialise(model, init: Path | None, frontends: tuple[FrontendConf, FrontendConf], adapt=None) -> None:
    """Start from an earlier run's exported weights: as stored when the caller took its vocabulary
    over, or passed through `adapt` first (`revocab_weights`) when the vocabulary is new; widened
    from the earlier run's features to this run's (`frontends`, `widen_input`) if they are more."""
    if init is not None:
        weights = widen_input(mx.load(str(Path(init) / "model.safetensors")), *frontends)
        load_weights_strict(model, adapt(weights) if adapt else weights, str(init))


# The Paraformer weights, and the CTC head's, whose first axis runs over the vocabulary.
VOCAB_ROWS = ("decoder.embed.0.weight", "decoder.output_layer.weight", "decoder.output_layer.bias")
CTC_ROWS = ("ctc_lo.weight", "ctc_lo.bias")


def revocab_weights(weights: dict[str, mx.array], fresh: dict[str, mx.array], old: ParaformerVocab,
                    new: ParaformerVocab, names: tuple[str, ...]) -> dict[str, mx.array]:
    """An earlier run's Paraformer weights (or CTC head) for a model with another vocabulary.

    Everything but the vocabulary rows (`names`) is kept. A token of both vocabularies keeps its rows; a
    word the old vocabulary spelt in pieces starts from the mean of those pieces' rows (its
    embedding and output row then already point where its pieces did); any other token keeps
    its fresh initialisation (`fresh`)."""
    unk = old.index["<unk>"]
    # New token index → the old rows it starts from (the same for every vocabulary-row weight).
    sources = {}
    for i, token in enumerate(new.tokens):
        if token in old.index:
            sources[i] = [old.index[token]]
        elif not token.endswith("@@") and unk not in (pieces := old.encode(token)):
            sources[i] = pieces
    out = dict(weights)
    for name in names:
        rows, table = np.array(fresh[name].astype(mx.float32)), np.array(weights[name].astype(mx.float32))
        for i, source in sources.items():
            rows[i] = table[source].mean(0)
        out[name] = mx.array(rows).astype(weights[name].dtype)
    return out


def _paraformer_vocab(texts: list[str], init: Path | None, english_pieces: int | None,
                      english_units: str | None) -> ParaformerVocab:
    """A new vocabulary from the training text, or, when continuing a run, the earlier run's: its
    output rows already mean those tokens, and a corpus of other sentences (a larger one, say) would
    otherwise build another vocabulary. Text that vocabulary cannot spell is refused: it would be
    learnt as <unk>. Continuing with `english_pieces` or `english_units` builds a new vocabulary on
    purpose (see `revocab_weights`)."""
    if english_pieces is not None and english_pieces < 1:
        raise WorkbenchError(f"--english-pieces must be positive, not {english_pieces}")
    if english_pieces is not None and english_units == "syllables":
        raise WorkbenchError("--english-pieces sets the size of a BPE vocabulary; syllables come from the words")
    if init is not None:
        _check_init(init, "paraformer", "tokens.json")
    if init is None or english_pieces is not None or english_units is not None:
        return ParaformerVocab.build(texts, english_pieces or 600, english_units or "bpe")
    vocab = ParaformerVocab.load(Path(init))
    unknown = vocab.unknown_words(texts)
    if unknown:
        shown = " ".join(sorted(unknown)[:20])
        raise WorkbenchError(f"{init}: its vocabulary cannot spell {len(unknown)} word(s) of this corpus ({shown}); "
                             "continue only on text the earlier run's vocabulary covers, or give --english-pieces "
                             "or --english-units for a new vocabulary")
    return vocab


def train_paraformer(corpus: Path, out: Path, config: TrainConfig, max_frames: int = 12000, workers: int = 8,
                     init: Path | None = None, english_pieces: int | None = None,
                     english_units: str | None = None, frame_length: int | None = None,
                     pitch: bool = False) -> Path:
    rows = load_manifest(corpus / "train.jsonl")
    # The vocabulary and the word timings first: a corpus they refuse is refused before minutes of
    # feature extraction.
    vocab = _paraformer_vocab([r["text"] for r in rows], init, english_pieces, english_units)
    if config.align_weight > 0 and not any(r.get("word_starts") for r in rows):
        raise WorkbenchError(f"{corpus}: --align-weight needs word timings, and its manifest has none "
                             "(rebuild the corpus with this version of workbench.corpus.build)")
    _check_train_only(config.train_only, init, config.ctc_weight)
    init_frontend, frontend = _frontends(init, frame_length, pitch)
    examples = load_examples(rows, corpus, frontend, workers, config.speed_perturb, config.seed)
    cmvn = _feature_cmvn(init, examples, frontend != init_frontend)
    targets = [vocab.encode(e.text) for e in examples]
    model_config = ParaformerConfig.from_dict({
        "vocab_size": len(vocab.tokens), **PARAFORMER_DEMO, "frontend_conf": asdict(frontend),
        "encoder_conf": {**PARAFORMER_DEMO["encoder_conf"], "input_size": frontend.output_dim}})
    model = Paraformer(model_config)
    work = out / "export-files"
    work.mkdir(parents=True, exist_ok=True)
    vocab_files = vocab.save(work)
    new_vocab = init is not None and (english_pieces is not None or english_units is not None)
    adapt = None
    if new_vocab:
        earlier, fresh = ParaformerVocab.load(Path(init)), dict(tree_flatten(model.parameters()))
        adapt = lambda weights: revocab_weights(weights, fresh, earlier, vocab, VOCAB_ROWS)  # noqa: E731
    _initialise(model, init, (init_frontend, frontend), adapt)
    trainee = Trainee(model, len(vocab.tokens), model_config.encoder_conf.output_size, config.ctc_weight)
    if new_vocab and trainee.ctc_head is not None:
        # The head's rows are moved to the new vocabulary like the decoder's.
        head = dict(tree_flatten(trainee.ctc_head.parameters()))
        trainee.restore_ctc_head(init, lambda weights: revocab_weights(weights, head, earlier, vocab, CTC_ROWS))
    else:
        trainee.restore_ctc_head(init)
    freeze_all_but(trainee, config.train_only)
    starts = None
    if config.align_weight > 0:
        starts = [paraformer_objective.word_start_targets(e, vocab.encode, frontend) for e in examples]
    make = lambda idx: paraformer_objective.make_batch(examples, idx, targets, cmvn, starts)  # noqa: E731

    def loss(t: Trainee, batch: dict):
        return paraformer_objective.loss_fn(t.model, batch, sampling_ratio=config.sampling_ratio,
                                            quantity_weight=config.quantity_weight, ctc=t.ctc_head,
                                            ctc_weight=t.ctc_weight, align_weight=config.align_weight)

    stream = _stream([len(e.features) for e in examples], max_frames)
    train(trainee, loss, stream, make, config, out)

    (work / "am.mvn").write_text(cmvn.to_text())
    write_model_dir(out / "model", model_config.to_dict(), _half(model),
                    {"am.mvn": work / "am.mvn", **{name: work / name for name in vocab_files},
                     **trainee.export_files(work)}, overwrite=True)
    shutil.copyfile(out / "log.jsonl", out / "model" / "train_log.jsonl")
    return out / "model"


# Nano's pitch features, multiplied so that the relative log F0 varies about as much within a frame
# as the mel bins do (0.15 × 16 = 2.4 against 2.8 over the sample clips; frontend.py, pitch_gain).
NANO_PITCH_GAIN = 16.0


def train_nano(corpus: Path, out: Path, config: TrainConfig, max_frames: int = 12000, workers: int = 8,
               init: Path | None = None, frame_length: int | None = None, pitch: bool = False,
               encoder_init: Path | None = None) -> Path:
    """`encoder_init` (a Paraformer directory) replaces `init`'s audio encoder by that model's
    encoder, frontend and feature normalisation, as upstream starts Nano from SenseVoice's
    trained encoder: a Paraformer trained to hear Mandarin tones passes that on (the demos'
    Nano never learnt it from the LLM's loss, scripts/gpu/README.md)."""
    if init is not None:
        _check_init(init, "nano", "tokenizer.json")
    if encoder_init is not None:
        if init is None:
            raise WorkbenchError("--encoder-init replaces the encoder of a Nano to continue: give --init (the "
                                 "model whose adaptor and LLM carry over)")
        if pitch or frame_length is not None:
            raise WorkbenchError("--encoder-init keeps the Paraformer's frontend, which its encoder was trained on: "
                                 "leave out --pitch and --frame-length")
        _check_init(encoder_init, "paraformer", "am.mvn", "to take an encoder from")
        encoder_config = json.loads((Path(encoder_init) / "config.json").read_text())
        if encoder_config.get("model_type") != "paraformer":  # a grafted Nano has an am.mvn too
            raise CheckpointError(f"{encoder_init}: --encoder-init takes a paraformer's encoder, and this model is "
                                  f"{encoder_config.get('model_type')!r}")
    _check_train_only(config.train_only, init, config.ctc_weight)
    # The frontend and normalisation come with the encoder: the Paraformer's when grafting, else the
    # earlier run's (an am.mvn only where a graft brought one; upstream's Nano has none).
    features_from = encoder_init or init
    init_frontend, frontend = _frontends(features_from, frame_length, pitch, NANO_PITCH_GAIN)
    examples = load_examples(load_manifest(corpus / "train.jsonl"), corpus, frontend, workers, config.speed_perturb,
                             config.seed)
    cmvn = None
    if features_from is not None and (Path(features_from) / "am.mvn").is_file():
        cmvn = _feature_cmvn(features_from, examples, frontend != init_frontend)
    work = out / "export-files"
    work.mkdir(parents=True, exist_ok=True)
    # Continuing a run keeps its tokenizer (byte-level, so it spells any text); a new run trains one.
    if init is not None:
        shutil.copyfile(Path(init) / "tokenizer.json", work / "tokenizer.json")
    else:
        train_nano_tokenizer([e.text for e in examples]).save(str(work / "tokenizer.json"))
    prompt = NanoPrompt(work / "tokenizer.json")
    prefix, suffix = prompt.ids()
    targets = [prompt.encode(e.text) + [prompt.im_end] for e in examples]
    # A continuation keeps the earlier run's sizes (a graft's encoder is larger than NANO_DEMO's).
    earlier = json.loads((Path(init) / "config.json").read_text()) if init is not None else NANO_DEMO
    spec = {part: dict(earlier[part]) for part in NANO_DEMO}
    if encoder_init is not None:
        spec["audio_encoder_conf"] = encoder_config["encoder_conf"]
    spec["llm_conf"]["vocab_size"] = prompt.tokenizer.get_vocab_size()
    spec["frontend_conf"] = asdict(frontend)
    spec["audio_encoder_conf"]["input_size"] = frontend.output_dim
    model_config = FunASRNanoConfig.from_dict(spec)
    model = FunASRNano(model_config)
    adapt = None
    if encoder_init is not None:
        paraformer = mx.load(str(Path(encoder_init) / "model.safetensors"))
        adapt = lambda weights: graft_encoder(weights, paraformer)  # noqa: E731
    _initialise(model, init, (init_frontend, frontend), adapt)
    # The CTC vocabulary is the tokenizer's plus a blank after it.
    trainee = Trainee(model, spec["llm_conf"]["vocab_size"] + 1, model_config.audio_encoder_conf.output_size,
                      config.ctc_weight)
    if encoder_init is None:  # the earlier head read the encoder a graft replaces
        trainee.restore_ctc_head(init)
    freeze_all_but(trainee, config.train_only)
    make = lambda idx: nano_objective.make_batch(examples, idx, targets, cmvn)  # noqa: E731
    # A head trained alone leaves the LLM's loss constant: it is not computed.
    head_only = config.train_only is not None and all(_names_ctc_head(part) for part in config.train_only)

    def loss(t: Trainee, batch: dict):
        return nano_objective.loss_fn(t.model, batch, prefix, suffix, ctc=t.ctc_head, ctc_weight=t.ctc_weight,
                                      llm_loss=not head_only)

    stream = _stream([len(e.features) for e in examples], max_frames)
    train(trainee, loss, stream, make, config, out)
    files = {"tokenizer.json": work / "tokenizer.json", **trainee.export_files(work)}
    if cmvn is not None:
        (work / "am.mvn").write_text(cmvn.to_text())
        files["am.mvn"] = work / "am.mvn"
    write_model_dir(out / "model", model_config.to_dict(), _half(model), files, overwrite=True)
    shutil.copyfile(out / "log.jsonl", out / "model" / "train_log.jsonl")
    return out / "model"
