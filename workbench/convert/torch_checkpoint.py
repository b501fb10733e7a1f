"""Safe reader for PyTorch ``torch.save`` checkpoints (the default zip format), without torch.

A ``model.pt`` is a zip holding ``<prefix>/data.pkl`` (a pickle describing the object tree) and
``<prefix>/data/<key>`` (raw little-endian tensor bytes). Unpickling runs whatever callables the
pickle names, so a hostile file could run ``os.system``. We therefore unpickle with a
``find_class`` that resolves only a fixed allow-list of names -- and maps them to our own tiny
stand-ins, never to torch -- so any other global is refused before a single opcode can call it.

What torch 2.x writes for a state dict: ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter`` (or ``..._with_state``
when the Parameter has attributes), and legacy typed storage names such as ``torch.FloatStorage``
inside the persistent ids ``('storage', storage_type, key, location, numel)``.
"""

from __future__ import annotations

import collections
import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import numpy as np

from workbench.errors import CheckpointError

_MAX_DIMS = 64
# Generous upper bound (4G elements; the largest LLM embedding tables are ~1G) so a hostile file
# cannot make us allocate petabytes via zero strides, which need no storage bytes at all.
_MAX_ELEMENTS = 2**32
# torch.save stores every record uncompressed. A record that deflates 20x or more is not torch's;
# reading it whole would let a 2 MB file allocate gigabytes (a zip bomb).
_MAX_EXPANSION = 20


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co. Frozen+slots: a pickle BUILD cannot mutate it."""

    name: str
    dtype: np.dtype
    bf16: bool = False  # numpy has no bfloat16: bytes are read as uint16 and re-viewed in MLX


_STORAGE_TYPES = {
    name: _StorageType(name, np.dtype(dt), name == "BFloat16Storage")
    for name, dt in {
        "FloatStorage": np.float32, "HalfStorage": np.float16, "BFloat16Storage": np.uint16,
        "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32,
        "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
        "BoolStorage": np.bool_,
    }.items()
}
# Raw (untyped) storages are pickled by torch>=2 only when a bare storage is saved; read as bytes.
_UNTYPED = _StorageType("UntypedStorage", np.dtype(np.uint8))


@dataclass(slots=True)
class _Tensor:
    array: np.ndarray  # contiguous copy, never a view into the zip bytes
    bf16: bool


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, big_endian: bool, label: str):
        super().__init__(file)
        self._zip, self._prefix, self._big, self._label = archive, prefix, big_endian, label
        self._storages: dict[str, np.ndarray] = {}
        # Bound methods (not module functions): a pickle BUILD cannot setattr on them, so a
        # hostile file cannot tamper with our rebuild code for later loads.
        self._globals = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self._rebuild_parameter,
            ("torch.storage", "UntypedStorage"): _UNTYPED,
            **{("torch", name): st for name, st in _STORAGE_TYPES.items()},
        }

    def _fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self._label}: {why}")

    def find_class(self, module, name):
        found = self._globals.get((module, name))
        if found is not None:
            return found
        if module == "torch" and name.endswith("Storage"):
            raise self._fail(f"unsupported tensor type 'torch.{name}' (only real, bool and integer "
                             "tensors can be read)")
        raise self._fail(f"refusing to load pickled global '{module}.{name}' "
                         "(checkpoints may only contain tensors)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise self._fail(f"malformed storage reference {pid!r}")
        return pid[1], pid[2]  # resolved (and read) only when a tensor actually uses it

    def _storage(self, stype: _StorageType, key: str) -> np.ndarray:
        if key not in self._storages:
            record = f"{self._prefix}data/{key}"
            try:
                info = self._zip.getinfo(record)
            except KeyError:
                raise self._fail(f"missing storage record '{record}'") from None
            _check_expansion(info, self._label)
            raw = self._zip.read(info)
            if len(raw) % stype.dtype.itemsize:
                raise self._fail(f"storage '{record}' is not a whole number of {stype.name} items")
            arr = np.frombuffer(raw, dtype=stype.dtype)
            self._storages[key] = arr.byteswap() if self._big else arr
        return self._storages[key]

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None,
                        metadata=None):
        stype, key = storage
        def ints(xs):
            return isinstance(xs, tuple) and all(type(x) is int and x >= 0 for x in xs)

        if not (type(offset) is int and offset >= 0 and ints(size) and ints(stride)
                and len(size) == len(stride) <= _MAX_DIMS):
            raise self._fail(f"tensor in storage '{key}' has an invalid size/stride/offset")
        numel = math.prod(size)
        if numel > _MAX_ELEMENTS:
            raise self._fail(f"tensor in storage '{key}' has an absurd size {size}")
        if numel == 0:
            return _Tensor(np.zeros(size, dtype=stype.dtype), stype.bf16)
        data = self._storage(stype, key)
        # Bounds check BEFORE as_strided, which would otherwise happily read past the buffer.
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= data.size:
            raise self._fail(f"storage '{key}' holds {data.size} items but a tensor of size "
                             f"{list(size)} (stride {list(stride)}, offset {offset}) needs {last + 1}")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(data[offset:], size, [s * item for s in stride],
                                               writeable=False)
        return _Tensor(np.array(view), stype.bf16)  # copy: detaches shared/non-contiguous views

    def _rebuild_parameter(self, data, requires_grad=False, hooks=None, state=None):
        return data  # a Parameter is just its tensor for our purposes


def _check_expansion(info: zipfile.ZipInfo, label: str) -> None:
    if info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
        raise CheckpointError(f"{label}: record '{info.filename}' expands from {info.compress_size} to "
                              f"{info.file_size} bytes; torch.save never compresses (a zip bomb?)")


def _to_mx(t: _Tensor) -> mx.array:
    if t.bf16:
        return mx.array(t.array).view(mx.bfloat16)
    if t.array.dtype == np.float64:
        # Kept as float32: MLX's CPU backend lacks many float64 ops and no model weights need it.
        return mx.array(t.array.astype(np.float32))
    return mx.array(t.array)


def read_torch_checkpoint(path) -> dict[str, mx.array]:
    """Read a zip-format ``torch.save`` checkpoint into ``{name: mx.array}`` without running code."""
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise CheckpointError(f"{label}: checkpoint file not found")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise CheckpointError(
            f"{label}: not a PyTorch zip checkpoint (the legacy non-zip torch format and "
            "non-checkpoint files are not supported; re-save it with torch.save() in the default "
            "zip format)")
    try:
        with zipfile.ZipFile(path) as archive:
            pkls = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
            if len(pkls) != 1:
                raise CheckpointError(f"{label}: zip archive is not a torch checkpoint "
                                      "(expected exactly one <archive>/data.pkl)")
            prefix = pkls[0][: -len("data.pkl")]
            names = set(archive.namelist())
            big = (prefix + "byteorder" in names
                   and archive.read(prefix + "byteorder").strip() == b"big")
            _check_expansion(archive.getinfo(pkls[0]), label)
            with archive.open(pkls[0]) as pkl:
                obj = _SafeUnpickler(pkl, archive, prefix, big, label).load()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"{label}: truncated or corrupt zip archive ({e})") from None
    except Exception as e:  # malformed pickle stream or stand-ins called with garbage arguments
        raise CheckpointError(f"{label}: corrupt checkpoint data ({type(e).__name__}: {e})") from None

    # Same container unwrapping as FunASR's load_pretrained_model.
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{label}: checkpoint holds a {type(obj).__name__}, not a state dict")
    out = {}
    for name, value in obj.items():
        if isinstance(name, str) and isinstance(value, _Tensor):  # skip step counts, configs, ...
            out[name.removeprefix("module.")] = _to_mx(value)
    if not out:
        raise CheckpointError(f"{label}: checkpoint contains no tensors")
    return out
