"""read_torch_checkpoint: exact round trips against real torch.save files, and hostile inputs."""

import collections
import os
import pickle
import zipfile

import mlx.core as mx
import numpy as np
import pytest
import torch

from workbench.convert.torch_checkpoint import read_torch_checkpoint
from workbench.errors import CheckpointError


def _save(tmp_path, obj, name="model.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _same(got: mx.array, want: torch.Tensor):
    """Exact comparison; bf16 goes through float32 (exact for every bf16 value)."""
    if want.dtype == torch.bfloat16:
        assert got.dtype == mx.bfloat16
        got, want = got.astype(mx.float32), want.float()
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(np.array(got), want.numpy())
    assert np.array(got).dtype == want.numpy().dtype


def _rewrite(path, edit):
    """Rewrite a zip, passing each (name, bytes) through edit (which may return None to drop it)."""
    with zipfile.ZipFile(path) as z:
        entries = [(n, z.read(n)) for n in z.namelist()]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            data = edit(name, data)
            if data is not None:
                z.writestr(name, data)


def test_dtypes_round_trip_exactly(tmp_path):
    g = torch.Generator().manual_seed(0)
    sd = {
        "f32": torch.randn(3, 4, generator=g),
        "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "i64": torch.arange(-5, 7),
        "i32": torch.arange(4, dtype=torch.int32),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
    }
    got = read_torch_checkpoint(_save(tmp_path, sd))
    assert set(got) == set(sd)
    for k, v in sd.items():
        _same(got[k], v)


def test_float64_becomes_float32(tmp_path):
    got = read_torch_checkpoint(_save(tmp_path, {"d": torch.tensor([1.5, -2.25], dtype=torch.float64)}))
    assert got["d"].dtype == mx.float32
    np.testing.assert_array_equal(np.array(got["d"]), [1.5, -2.25])


def test_non_contiguous_and_shared_storage(tmp_path):
    base = torch.arange(24, dtype=torch.float32)
    sd = {
        "transposed": torch.randn(3, 5).t(),
        "strided": base.view(4, 6)[:, 1::2],
        "head": base[:10],
        "tail": base[10:].view(2, 7),  # same storage, non-zero offset
        "bf16_t": torch.randn(4, 3).bfloat16().t(),
    }
    assert not sd["transposed"].is_contiguous()
    got = read_torch_checkpoint(_save(tmp_path, sd))
    for k, v in sd.items():
        _same(got[k], v)


def test_nested_container_and_module_prefix(tmp_path):
    w = torch.randn(2, 2)
    ckpt = {"epoch": 3, "arch": "paraformer", "state_dict": {"module.enc.w": w, "step": 10}}
    got = read_torch_checkpoint(_save(tmp_path, ckpt))
    assert list(got) == ["enc.w"]
    _same(got["enc.w"], w)


def test_model_state_dict_with_parameters(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.BatchNorm1d(3))
    sd = net.state_dict()
    got = read_torch_checkpoint(_save(tmp_path, {"model": sd}))
    assert set(got) == set(sd)
    for k, v in sd.items():
        _same(got[k], v)
    # Parameters themselves (not detached tensors), including one carrying extra attributes.
    p = torch.nn.Parameter(torch.randn(3))
    p.tag = "x"
    got = read_torch_checkpoint(_save(tmp_path, {"p": p, "w": net[0].weight}, "params.pt"))
    _same(got["p"], p.detach())
    _same(got["w"], net[0].weight.detach())


def test_big_endian_byteorder(tmp_path):
    t = torch.tensor([1.0, -2.0, 3.5])
    path = _save(tmp_path, {"t": t})
    _rewrite(path, lambda n, d: b"big" if n.endswith("/byteorder")
             else np.frombuffer(d, "<f4").astype(">f4").tobytes() if "/data/" in n else d)
    _same(read_torch_checkpoint(path)["t"], t)


class _Pwn:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def _torch_like_zip(path, payload: bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def test_hostile_pickle_is_refused_before_running(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Pwn(f"touch {marker}")}, protocol=2)
    path = tmp_path / "model.pt"
    _torch_like_zip(path, payload)
    with pytest.raises(CheckpointError, match=r"refusing to load pickled global '(posix|os)\.system'") as e:
        read_torch_checkpoint(path)
    assert "model.pt" in str(e.value) and "may only contain tensors" in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize("proto", [2, 4])
def test_hostile_builtins_eval_is_refused(tmp_path, proto):
    class Evil:
        def __reduce__(self):
            return (eval, ("__import__('os').getcwd()",))

    path = tmp_path / "model.pt"
    _torch_like_zip(path, pickle.dumps(collections.OrderedDict(w=Evil()), protocol=proto))
    with pytest.raises(CheckpointError, match=r"refusing to load pickled global '(builtins|__builtin__)\.eval'"):
        read_torch_checkpoint(path)


def test_random_bytes_file(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=r"model\.pt: not a PyTorch zip checkpoint.*legacy.*torch\.save"):
        read_torch_checkpoint(path)


def test_legacy_format_is_rejected(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy non-zip torch format"):
        read_torch_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pt: checkpoint file not found"):
        read_torch_checkpoint(tmp_path / "nope.pt")


def test_truncated_zip(tmp_path):
    path = _save(tmp_path, {"w": torch.randn(64, 64)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.pt: truncated or corrupt zip archive"):
        read_torch_checkpoint(path)


def test_storage_shorter_than_tensor(tmp_path):
    path = _save(tmp_path, {"w": torch.randn(4, 4)})
    _rewrite(path, lambda n, d: d[:20] if "/data/" in n else d)  # 5 of 16 floats left
    with pytest.raises(CheckpointError, match=r"storage '0' holds 5 items but a tensor of size \[4, 4\].*needs 16"):
        read_torch_checkpoint(path)


def test_missing_storage_record(tmp_path):
    path = _save(tmp_path, {"w": torch.randn(3)})
    _rewrite(path, lambda n, d: None if "/data/" in n else d)
    with pytest.raises(CheckpointError, match=r"missing storage record 'model/data/0'"):
        read_torch_checkpoint(path)


def test_absurd_size_is_refused(tmp_path):
    # A legal torch tensor (stride 0, one stored element) that would need 32 GiB to materialize.
    path = _save(tmp_path, {"w": torch.ones(1).expand(2**33)})
    with pytest.raises(CheckpointError, match="absurd size"):
        read_torch_checkpoint(path)


def test_no_tensors(tmp_path):
    with pytest.raises(CheckpointError, match="contains no tensors"):
        read_torch_checkpoint(_save(tmp_path, {"epoch": 1, "lr": 0.1}))


def test_unsupported_dtype(tmp_path):
    with pytest.raises(CheckpointError, match=r"unsupported tensor type 'torch\.ComplexFloatStorage'"):
        read_torch_checkpoint(_save(tmp_path, {"c": torch.ones(2, dtype=torch.complex64)}))


def test_protocol_0_inst_opcode_is_refused(tmp_path):
    # INST names its class as text and calls it: a path to os.system that avoids REDUCE.
    path = tmp_path / "model.pt"
    _torch_like_zip(path, b"(ios\nsystem\n(S'touch pwned'\ntR.")
    with pytest.raises(CheckpointError, match=r"refusing to load pickled global 'os\.system'"):
        read_torch_checkpoint(path)


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    # A genuine 4-element tensor whose storage record inflates a megabyte of zeros ~1000x.
    path = _save(tmp_path, {"w": torch.zeros(4)})
    with zipfile.ZipFile(path) as z:
        entries = [(n, z.read(n)) for n in z.namelist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data + bytes(2**20) if name.endswith("/data/0") else data)
    with pytest.raises(CheckpointError, match=r"record 'model/data/0' expands from \d+ to 1048592 bytes; "
                       r"torch\.save never compresses \(a zip bomb\?\)"):
        read_torch_checkpoint(path)


def test_absurd_length_in_the_pickle_stream(tmp_path):
    # BINBYTES8 announcing 1 TiB: Python refuses the allocation, or finds the data missing.
    path = tmp_path / "model.pt"
    _torch_like_zip(path, b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"abc")
    with pytest.raises(CheckpointError, match=r"corrupt checkpoint data \((MemoryError|UnpicklingError)"):
        read_torch_checkpoint(path)
