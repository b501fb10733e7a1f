"""Speech synthesis for the synthetic corpus: espeak-ng voices, seeded prosody and augmentation.

espeak-ng runs as a subprocess (`espeak-ng -v VOICE -s RATE -p PITCH -a AMP --stdout TEXT`), so a
machine without a system install can use a copy unpacked from the Debian packages with
`dpkg -x` (see `Espeak`). Output is 22.05 kHz WAV, resampled to 16 kHz float32.

Mandarin needs care with Debian's espeak-ng 1.51: its `cmn` voice ("latin as English") reads
many Chinese characters as *pinyin with tone digits spelled in English* ("明" → "ming two"),
because the dictionary maps them to pinyin text that is then read as Latin script.
`cmn-latn-pinyin` reads the same characters correctly. So a Mandarin voice "cmn+f2" speaks
Chinese runs with `cmn-latn-pinyin+f2` and English runs (code-switching) with `cmn+f2`, switched
inside one espeak call with SSML `<voice>` tags; both share the cmn phoneme set and the variant,
so the speaker stays the same across the switch.

Voices are `base+variant` (an espeak language voice plus a `!v` variant that changes formants
and pitch range). `HELD_OUT_VOICES` combine a base and a variant that no training voice uses,
so a test set can measure generalisation to an unseen speaker.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import soxr

from ..errors import WorkbenchError

if TYPE_CHECKING:
    from .piper_voice import PiperSpeaker
    from .word_timing import WordTimer

SAMPLE_RATE = 16000


class EspeakError(WorkbenchError):
    """espeak-ng is missing, misconfigured or failed on an input."""


# ----------------------------------------------------------------------------------------------
# Voices

# espeak's formant variants; the novelty ones (robots, whisper, croak) are left out.
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4",
                  "Andrea", "Annie", "aunty", "belinda", "paul", "max", "edward", "klatt")
# Only the espeak (gmw) English voices: the mb-* ones need MBRola, which Debian does not ship here.
EN_TRAIN_BASES = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")


@dataclass(frozen=True)
class Voice:
    language: str  # "zh" or "en"
    base: str  # espeak language voice: "cmn", "en-gb", ...
    variant: str  # espeak variant file under voices/!v

    @property
    def name(self) -> str:
        return f"{self.base}+{self.variant}"


TRAIN_VOICES: dict[str, tuple[Voice, ...]] = {
    "zh": tuple(Voice("zh", "cmn", v) for v in TRAIN_VARIANTS),
    "en": tuple(Voice("en", b, v) for b in EN_TRAIN_BASES for v in TRAIN_VARIANTS),
}
# Unseen base accent and unseen variant for English; unseen variant for Mandarin (espeak has one).
HELD_OUT_VOICES: dict[str, Voice] = {"zh": Voice("zh", "cmn", "f5"), "en": Voice("en", "en-gb-scotland", "f5")}
# Not espeak at all: Piper's neural English voice (`piper_voice.py`), for a test set of its own
# and, with build's --piper-share, a share of the English training utterances.
PIPER_VOICE = Voice("en", "piper", "en_US-joe-medium")

# espeak's -s. Measured on espeak-ng 1.51: cmn at 150-210 speaks 3.4-4.9 characters/s, near read
# Mandarin; en at 130-190 gives 155-225 words/min counting number words.
RATES = {"zh": (150, 210), "en": (130, 190)}
PITCH = (30, 70)  # espeak's -p, 0..99 around the variant's own range
# Augmented utterances get 0.05 s to these of silence before and after the speech. Models
# trained so misread speech that starts later: on the test split's sentences with 1-2 s of
# silence first (`--max-lead-silence 2`), nano-demo's sixth run had 21.6 % CER against 5.6 % under
# 0.4 s (it often wrote a different sentence), paraformer-demo has 2.9 % against 1.5 %
# (docs/reliability.md, "Leading silence"). A longer `max_lead_s` (build.py's --max-lead-silence)
# teaches a model such pauses (nano-demo's seventh run: 4.1 %) and measures how it copes with them.
MAX_LEAD_S = 0.4
MAX_TRAIL_S = 0.4
# SSML `<prosody range>` words: how far espeak moves the pitch within the voice. Its male Mandarin
# voices move a syllable's pitch by a few hertz (贺 99 → 79 Hz in cmn+m3), too little for a model
# to tell tones apart by; "x-high" about doubles that. None: no SSML, the audio of earlier corpora.
# Even then espeak speaks tone 3 (李 lǐ) as a low rise shaped like tone 2 (黎 lí), only lower
# (x-high cmn+m1: 73 → 81 Hz against 82 → 90 Hz), so those two differ mostly in pitch level, which
# varies with the voice: at the start of a sentence, with nothing to compare with, hard to hear.
PITCH_RANGES = ("x-low", "low", "medium", "high", "x-high")


def voice_by_name(name: str) -> Voice:
    """'cmn+f2' → its Voice (training or held-out)."""
    for voice in [*TRAIN_VOICES["zh"], *TRAIN_VOICES["en"], *HELD_OUT_VOICES.values(), PIPER_VOICE]:
        if voice.name == name:
            return voice
    raise KeyError(f"unknown corpus voice {name!r}")


# ----------------------------------------------------------------------------------------------
# The espeak-ng executable


@dataclass(frozen=True)
class Espeak:
    """Where espeak-ng and its data live.

    `binary`: path or command name; default $ESPEAK_NG_BIN, else `espeak-ng` on PATH.
    `data`: the espeak-ng-data directory (or its parent); default $ESPEAK_DATA_PATH, else the
    binary's built-in path. For a `dpkg -x ROOT` unpack, giving the binary ROOT/usr/bin/espeak-ng
    is enough: the data directory and libespeak-ng beside it in ROOT/usr/lib/<triplet> are found
    and put in the child's ESPEAK_DATA_PATH / LD_LIBRARY_PATH.

    Debian's libpcaudio0 links libasound2 and libpulse0, so the binary fails to load ("libasound.so.2:
    cannot open shared object file") where those are absent, although --stdout never plays sound.
    Unpack those packages too, or put a no-op libpcaudio.so.0 (the eight `audio_object_*` /
    `create_audio_device_object` entry points) in the unpacked lib directory.
    """

    binary: str = ""
    data: str | None = None
    lib_dirs: tuple[str, ...] = field(default=())

    @classmethod
    def locate(cls, binary: str | None = None, data: str | None = None) -> Espeak:
        binary = binary or os.environ.get("ESPEAK_NG_BIN") or shutil.which("espeak-ng") or ""
        if not binary:
            raise EspeakError("espeak-ng not found: install it, or pass --espeak PATH or set ESPEAK_NG_BIN")
        resolved = shutil.which(binary) or binary
        if not Path(resolved).is_file():
            raise EspeakError(f"espeak-ng binary {binary!r} does not exist")
        data = data or os.environ.get("ESPEAK_DATA_PATH")
        lib_dirs: list[str] = []
        prefix = Path(resolved).resolve().parent.parent  # ROOT/usr for an unpacked package
        if prefix not in (Path("/usr"), Path("/usr/local")):  # a system install needs no help
            for lib in sorted(prefix.glob("lib/*/libespeak-ng.so.1")) + sorted(prefix.glob("lib/libespeak-ng.so.1")):
                lib_dirs.append(str(lib.parent))
                if data is None and (lib.parent / "espeak-ng-data").is_dir():
                    data = str(lib.parent / "espeak-ng-data")
        if data is not None:
            data_dir = Path(data)
            if (data_dir / "espeak-ng-data").is_dir():  # the parent was given
                data_dir = data_dir / "espeak-ng-data"
            if not (data_dir / "phontab").is_file():
                raise EspeakError(f"{data}: not an espeak-ng-data directory (no phontab)")
            data = str(data_dir)
        return cls(binary=resolved, data=data, lib_dirs=tuple(lib_dirs))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.data:
            env["ESPEAK_DATA_PATH"] = self.data
        if self.lib_dirs:
            env["LD_LIBRARY_PATH"] = os.pathsep.join([*self.lib_dirs, env.get("LD_LIBRARY_PATH", "")]).rstrip(":")
        return env

    def run(self, args: list[str], text: str) -> bytes:
        # The text goes last on the command line: no shell, so nothing in it is interpreted.
        try:
            proc = subprocess.run([self.binary, *args, text], capture_output=True, env=self.env(), timeout=120)
        except OSError as exc:
            raise EspeakError(f"cannot run {self.binary}: {exc}") from None
        if proc.returncode != 0 or not proc.stdout:
            detail = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            raise EspeakError(f"espeak-ng failed ({detail}) on {text!r}")
        return proc.stdout

    def data_dir(self) -> Path:
        """The data directory the binary actually uses (its --version says)."""
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, env=self.env(), timeout=30)
        match = re.search(r"Data at:\s*(.+)", out.stdout)
        if out.returncode != 0 or not match:
            raise EspeakError(f"{self.binary} --version failed: {(out.stderr or out.stdout).strip()}")
        return Path(match.group(1).strip())

    def check(self, voices: list[Voice] | None = None) -> None:
        """Fail early and clearly if a voice or variant is missing.

        espeak silently falls back to the base voice for an unknown variant, which would quietly
        collapse speakers, so variant files are checked here.
        """
        data = self.data_dir()
        listed = subprocess.run([self.binary, "--voices"], capture_output=True, text=True, env=self.env(), timeout=30)
        languages = {line.split()[1] for line in listed.stdout.splitlines()[1:] if len(line.split()) > 1}
        for voice in voices or [*TRAIN_VOICES["zh"], *TRAIN_VOICES["en"], *HELD_OUT_VOICES.values()]:
            bases = ("cmn", "cmn-latn-pinyin") if voice.language == "zh" else (voice.base,)
            for base in bases:
                if base not in languages:
                    raise EspeakError(f"espeak-ng at {self.binary} (data {data}) has no voice {base!r}")
            if not (data / "voices" / "!v" / voice.variant).is_file():
                raise EspeakError(f"espeak-ng data {data} has no variant {voice.variant!r}")


# ----------------------------------------------------------------------------------------------
# Synthesis


def espeak_args(text: str, voice: Voice, rate: int, pitch: int, amplitude: int = 100,
                pitch_range: str | None = None) -> tuple[list[str], str]:
    """Command-line arguments and the text (plain or SSML) espeak-ng is given for `text`.

    `pitch_range` (one of `PITCH_RANGES`, Mandarin voices only) wraps the text in SSML prosody.
    """
    prosody = ["-s", str(rate), "-p", str(pitch), "-a", str(amplitude), "--stdout"]
    if voice.language == "en":
        if pitch_range is not None:
            raise ValueError("a pitch range is for Mandarin voices (for tones); English keeps its word timings")
        return ["-v", voice.name, *prosody], text
    if pitch_range is not None and pitch_range not in PITCH_RANGES:
        raise ValueError(f"pitch range {pitch_range!r} is not one of {', '.join(PITCH_RANGES)}")
    hanzi = f"cmn-latn-pinyin+{voice.variant}"
    if not re.search(r"[A-Za-z]", text):
        if pitch_range is None:
            return ["-v", hanzi, *prosody], text
        body = text
    else:
        # Code-switched: Chinese runs with the pinyin voice, Latin runs with `cmn` (reads Latin as English).
        body = "".join(f'<voice name="{voice.name if re.match(r"[A-Za-z]", run) else hanzi}">{run.strip()}</voice>'
                       for run in re.findall(r"[A-Za-z' ]*[A-Za-z]|[^A-Za-z]+", text))
    if pitch_range is not None:
        body = f'<prosody range="{pitch_range}">{body}</prosody>'
    return ["-m", "-v", hanzi, *prosody], f"<speak>{body}</speak>"


def speak(text: str, voice: Voice, rate: int, pitch: int, espeak: Espeak, amplitude: int = 100,
          pitch_range: str | None = None) -> np.ndarray:
    """espeak-ng's rendering of `text`, 16 kHz mono float32, with its own silences."""
    args, payload = espeak_args(text, voice, rate, pitch, amplitude, pitch_range)
    wav = espeak.run(args, payload)
    # espeak streams to stdout, so its WAV header carries a placeholder length; libsndfile copes.
    data, rate_in = sf.read(io.BytesIO(wav), dtype="float32", always_2d=False)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.size == 0:
        raise EspeakError(f"espeak-ng produced no audio for {text!r}")
    return soxr.resample(data, rate_in, SAMPLE_RATE, quality="HQ").astype(np.float32)


def utterance_seed(seed: int, utterance_id: str) -> int:
    """A 63-bit seed from the corpus seed and an utterance id: stable across runs and processes,
    so an utterance's audio never depends on which worker made it or in what order."""
    digest = hashlib.sha256(f"{seed}:{utterance_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def pick_voice(language: str, seed: int, held_out: bool = False, among: tuple[Voice, ...] | None = None) -> Voice:
    """The held-out voice, or a training voice drawn by `seed` (from `among`, if given: the same
    draw over a smaller pool, `zh_training_voices`)."""
    if held_out:
        return HELD_OUT_VOICES[language]
    return random.Random(seed).choice(among or TRAIN_VOICES[language])


def zh_training_voices(names: list[str] | tuple[str, ...], option: str) -> tuple[Voice, ...]:
    """The Mandarin training voices called `names`, in order and once each, as a pool for
    `pick_voice`; a ValueError that names the command-line `option` for any other name. Held-out
    voices are refused: they must stay unheard in training, or their test scores mean nothing."""
    known = {voice.name: voice for voice in TRAIN_VOICES["zh"]}
    wrong = [name for name in names if name not in known]
    if wrong or not names:
        raise ValueError(f"{option} takes Mandarin training voices ({', '.join(known)}), "
                         f"not {', '.join(wrong) or 'none'}")
    return tuple(dict.fromkeys(known[name] for name in names))


@dataclass
class Utterance:
    audio: np.ndarray  # float32, 16 kHz, mono
    text: str
    voice: Voice
    params: dict  # prosody and augmentation, for the manifest
    # Seconds into `audio` where each whitespace word starts (None: no timing for that word);
    # None when not asked for or not to be trusted (see `synthesize`).
    word_starts: list[float | None] | None = None

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def synthesize(text: str, language: str, seed: int, espeak: Espeak, voice: Voice | None = None,
               augment: bool = True, timer: WordTimer | None = None, piper: PiperSpeaker | None = None,
               pitch_range: str | None = None, max_lead_s: float = MAX_LEAD_S) -> Utterance:
    """Speak `text` with seeded prosody and augmentation; the same arguments give the same samples.

    `voice` defaults to a seeded choice among the training voices of `language`. With a `timer`,
    English utterances also get each word's start in the final audio (Mandarin ones do not: their
    voice switches inside the text, and their token counts need no such help). `PIPER_VOICE`
    needs `piper` (a `piper_voice.PiperSpeaker`), and gets no word timings. `pitch_range`: see
    `PITCH_RANGES` (espeak Mandarin voices). `max_lead_s`: the longest silence drawn before the
    speech (see `MAX_LEAD_S`).
    """
    rng = np.random.default_rng(seed)
    voice = voice or pick_voice(language, seed)
    rate = int(rng.integers(RATES[language][0], RATES[language][1] + 1))
    pitch = int(rng.integers(PITCH[0], PITCH[1] + 1))
    if voice == PIPER_VOICE:
        from .piper_voice import PiperError, length_scale  # here: piper_voice imports this module

        if piper is None:
            raise PiperError(f"{voice.name} is a Piper voice: pass a PiperSpeaker")
        prosody = {"length_scale": length_scale(rate)}
        spoken = piper.speak(text, prosody["length_scale"])
    else:
        prosody = {"rate": rate, "pitch": pitch, **({"pitch_range": pitch_range} if pitch_range else {})}
        spoken = speak(text, voice, rate, pitch, espeak, pitch_range=pitch_range)
    speech, cut = _trim(spoken)
    if augment:
        audio, aug = _augment(speech, rng, max_lead_s)
    else:
        audio, aug = _pad(speech, PLAIN_PAD_S, PLAIN_PAD_S), {"clean": True}
    starts = None
    if timer is not None and language == "en" and voice != PIPER_VOICE:
        raw, duration = timer.word_starts(text, voice.name, rate, pitch)
        # The library speaks the program's audio (word_timing.py); if it did not here (a library
        # and a program of different versions, say), its timings are not the corpus audio's.
        if abs(duration - len(spoken) / SAMPLE_RATE) <= MAX_TIMING_DRIFT_S:
            # Padding and trimming shift every word alike; augmentation keeps the length.
            shift = aug.get("lead_s", PLAIN_PAD_S) - int(cut) / SAMPLE_RATE
            starts = [None if s is None else round(max(s + shift, 0.0), 3) for s in raw]
    return Utterance(audio=audio, text=text, voice=voice, params={**prosody, **aug}, word_starts=starts)


PLAIN_PAD_S = 0.1  # silence on each side of an unaugmented utterance
MAX_TIMING_DRIFT_S = 0.005  # resampling rounds a duration by well under a millisecond


# ----------------------------------------------------------------------------------------------
# Augmentation

TARGET_RMS_DB = -20.0  # speech level before the random gain


def _db(x: float) -> float:
    return 10 ** (x / 20)


def _trim(x: np.ndarray, floor_db: float = -50.0) -> tuple[np.ndarray, int]:
    """Cut espeak's own leading/trailing silence so the added silence is the only silence;
    also return how many samples were cut from the front."""
    loud = np.flatnonzero(np.abs(x) > np.abs(x).max() * _db(floor_db))
    if loud.size == 0:
        return x, 0
    margin = int(0.01 * SAMPLE_RATE)
    first = max(loud[0] - margin, 0)
    return x[first : loud[-1] + margin + 1], first


def _pad(x: np.ndarray, lead_s: float, trail_s: float) -> np.ndarray:
    lead, trail = int(lead_s * SAMPLE_RATE), int(trail_s * SAMPLE_RATE)
    return np.concatenate([np.zeros(lead, np.float32), x, np.zeros(trail, np.float32)])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12


def _fft_size(n: int) -> int:
    """A power of two >= n: pocketfft is slow on lengths with large prime factors."""
    return 1 << max(n - 1, 1).bit_length()


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f² power) noise, shaped in the frequency domain."""
    size = _fft_size(n)
    white = rng.standard_normal(size)
    if colour == "white":
        noise = white[:n]
    else:
        alpha = {"pink": 1.0, "brown": 2.0}[colour]
        freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
        # Below 20 Hz the 1/f shape would put most of the power into inaudible rumble.
        shape = np.maximum(freqs, 20.0) ** (-alpha / 2)
        shape[0] = 0.0
        noise = np.fft.irfft(np.fft.rfft(white) * shape, size)[:n]
    return (noise / _rms(noise)).astype(np.float32)


def reverb(x: np.ndarray, rt60: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: the dry signal plus `wet` of an exponentially decaying noise tail.

    The impulse response decays by 60 dB at `rt60` seconds (amplitude exp(-ln(1000) t / rt60)).
    The output keeps x's length: the trailing silence absorbs the tail.
    """
    n_ir = int(rt60 * SAMPLE_RATE)
    t = np.arange(n_ir) / SAMPLE_RATE
    ir = rng.standard_normal(n_ir) * np.exp(-np.log(1000.0) * t / rt60)
    ir[: int(0.002 * SAMPLE_RATE)] = 0.0  # first reflections arrive a few ms after the direct sound
    size = _fft_size(len(x) + n_ir)
    tail = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    tail *= _rms(x) / _rms(tail)
    return ((1 - wet) * x + wet * tail).astype(np.float32)


def _augment(speech: np.ndarray, rng: np.random.Generator, max_lead_s: float) -> tuple[np.ndarray, dict]:
    """Silence padding, level normalisation, then (unless clean) reverb, noise and gain.

    Every draw happens whether or not it is used, so one choice never shifts the random stream
    of the next and parameters stay comparable across utterances.
    """
    # Two draws whatever the bound, so a longer lead leaves the rest of the stream as it was.
    lead, trail = rng.uniform(0.05, (max_lead_s, MAX_TRAIL_S))
    clean = rng.random() < 0.2
    use_reverb = rng.random() < 0.35
    rt60, wet = rng.uniform(0.1, 0.6), rng.uniform(0.2, 0.6)
    use_noise = rng.random() < 0.7
    colour = str(rng.choice(["white", "pink", "brown"]))
    snr = rng.uniform(10, 40)
    gain_db = rng.uniform(-12, 3)

    x = _pad(speech, lead, trail)
    x *= _db(TARGET_RMS_DB) / _rms(speech)
    params: dict = {"clean": bool(clean), "lead_s": round(float(lead), 3), "trail_s": round(float(trail), 3)}
    if not clean:
        if use_reverb:
            x = reverb(x, rt60, wet, rng)
            params.update(rt60=round(float(rt60), 3), wet=round(float(wet), 3))
        if use_noise:
            # SNR against the speech level (the padding would otherwise lower the reference).
            noise = coloured_noise(len(x), colour, rng) * (_db(TARGET_RMS_DB) / _db(snr))
            x = x + noise
            params.update(noise=colour, snr_db=round(float(snr), 2))
        x *= _db(gain_db)
        params["gain_db"] = round(float(gain_db), 2)
    peak = float(np.abs(x).max())
    if peak > 0.99:  # a loud gain on a peaky voice: scale down rather than clip
        x *= 0.99 / peak
    return x.astype(np.float32), params
