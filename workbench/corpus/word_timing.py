"""Where each word starts in espeak-ng's speech, from libespeak-ng's word events.

The `espeak-ng` program, which makes the corpus audio, reports no timings; the library it is
built on does: its synthesis callback receives an event for every word, with the word's place in
the text and in the audio. `WordTimer` loads the library into this process (the same copy the
program uses, unpacked or system-wide) and speaks the text once more with the same voice and
prosody, keeping only those events.

The library carries state from one utterance to the next (the program starts afresh for each):
a second utterance in one session came out up to 15 ms longer or shorter than the program's
(espeak-ng 1.51), and espeak_Terminate/espeak_Initialize hung rather than reset it. So each
utterance is spoken in a forked child of the initialised process, which starts from the state the
program starts from and gives the program's audio sample for sample, and timings that depend
only on the utterance, not on what a worker spoke before.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import select
import signal
import time
from pathlib import Path

from .synth import Espeak, EspeakError

# espeak_lib.h (espeak-ng 1.51): output mode, event types, parameters and synthesis flags.
_SYNCHRONOUS = 2
_EVENT_LIST_END, _EVENT_WORD = 0, 1
_RATE, _VOLUME, _PITCH = 1, 2, 3
_POS_CHARACTER = 1
_CHARS_UTF8, _PHONEMES, _ENDPAUSE = 1, 0x100, 0x1000  # the program's own flags


# A sentence takes espeak milliseconds; a child that has not answered by then is stuck (a fork of a
# multi-threaded process can inherit a lock held by another thread) and is killed.
TIMEOUT_S = 30.0


def _read_until_closed(fd: int, deadline: float) -> bytes | None:
    """Everything written to the pipe `fd` until its writer closes it, or None at the deadline."""
    chunks = []
    try:
        while (left := deadline - time.monotonic()) > 0:
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        return None
    finally:
        os.close(fd)


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


class _VoiceSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def word_spans(text: str) -> list[tuple[int, int]]:
    """(first, end) character offsets of the whitespace-separated words of `text`: for English
    text, the words the demo vocabulary spells (`workbench.text.split_words`)."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


class WordTimer:
    """libespeak-ng, initialised in this process and speaking in forked children, used only for
    its word events. The library's state is global: one process holds one timer (the corpus
    builder makes one per worker process)."""

    def __init__(self, espeak: Espeak):
        self._lib = _load(espeak)
        # Initialise takes the folder that contains espeak-ng-data; None means the built-in one.
        home = str(Path(espeak.data).parent).encode() if espeak.data else None
        self.sample_rate = self._lib.espeak_Initialize(_SYNCHRONOUS, 0, home, 0)
        if self.sample_rate <= 0:
            raise EspeakError(f"libespeak-ng failed to initialise (data {espeak.data or 'built in'})")
        self._samples = 0
        self._events: list[tuple[int, int]] = []  # (text position, sample) of each word event
        self._callback = _CALLBACK(self._on_audio)  # kept referenced: the library calls it later
        self._lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, n: int, events) -> int:
        self._samples += max(n, 0)
        i = 0
        while events[i].type != _EVENT_LIST_END:
            if events[i].type == _EVENT_WORD:
                self._events.append((events[i].text_position, events[i].sample))
            i += 1
        return 0  # 0: go on synthesising

    def word_starts(self, text: str, voice: str, rate: int, pitch: int,
                    amplitude: int = 100) -> tuple[list[float | None], float]:
        """Start (seconds into espeak's own audio, silences included) of each whitespace word of
        `text`, None for a word that got no event, and the audio's duration."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child speaks, reports through the pipe and exits, whatever happens
            try:
                try:
                    reply = {"events": self._speak(text, voice, rate, pitch, amplitude), "samples": self._samples}
                except Exception as exc:  # it must reach the parent, not unwind the child's copy of its stack
                    reply = {"error": str(exc)}
                os.write(write, json.dumps(reply).encode())
            finally:
                os._exit(0)
        os.close(write)
        data = _read_until_closed(read, time.monotonic() + TIMEOUT_S)
        if data is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise EspeakError(f"libespeak-ng gave no word timings within {TIMEOUT_S} s on {text!r}")
        os.waitpid(pid, 0)
        reply = json.loads(data) if data else {"error": f"libespeak-ng crashed on {text!r}"}
        if "error" in reply:
            raise EspeakError(reply["error"])
        starts: list[float | None] = []
        for first, end in word_spans(text):
            # Event positions count characters from 1. A number read as several words gives
            # several events inside one written word: its first one is where the word starts.
            inside = [sample for position, sample in reply["events"] if first < position <= end]
            starts.append(min(inside) / self.sample_rate if inside else None)
        return starts, reply["samples"] / self.sample_rate

    def _speak(self, text: str, voice: str, rate: int, pitch: int, amplitude: int) -> list[tuple[int, int]]:
        # As the program does with -v: a voice name first, else a language ("en-gb+m3" is one).
        if (self._lib.espeak_SetVoiceByName(voice.encode()) != 0
                and self._lib.espeak_SetVoiceByProperties(ctypes.byref(_VoiceSpec(languages=voice.encode()))) != 0):
            raise EspeakError(f"libespeak-ng has no voice {voice!r}")
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_VOLUME, amplitude)):
            self._lib.espeak_SetParameter(parameter, value, 0)
        payload = text.encode()
        status = self._lib.espeak_Synth(payload, len(payload) + 1, 0, _POS_CHARACTER, 0,
                                        _CHARS_UTF8 | _PHONEMES | _ENDPAUSE, None, None)
        if status != 0:
            raise EspeakError(f"libespeak-ng failed (status {status}) on {text!r}")
        return self._events


def _load(espeak: Espeak) -> ctypes.CDLL:
    """The libespeak-ng beside the program `espeak` runs, else the system's."""
    candidates = [str(Path(d) / "libespeak-ng.so.1") for d in espeak.lib_dirs] + ["libespeak-ng.so.1"]
    errors = []
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as exc:
            errors.append(str(exc))
            continue
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_VoiceSpec)]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        return lib
    raise EspeakError("libespeak-ng.so.1 could not be loaded for word timings: " + "; ".join(errors))
