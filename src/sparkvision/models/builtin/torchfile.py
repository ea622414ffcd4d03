"""Read a torch state-dict file into numpy arrays without torch.

``torch.save`` writes a pickle whose tensors point into raw storages kept beside it, in
one of two layouts:

- **zip** (torch >= 1.6): ``<dir>/data.pkl`` plus one raw file per storage under
  ``<dir>/data/<key>``;
- **legacy**: four pickles in a row (a magic number, the protocol version, system
  information, the object) followed by the list of storage keys and, per key, an 8-byte
  element count and the storage's raw bytes.

The object pickle is read by an unpickler that knows only what a state dict is made of:
an ``OrderedDict``, torch's storage type names and the tensor-rebuild call, each mapped to
numpy. Any other global (the things that make unpickling run code) is refused, so a file
is read as data whatever it contains.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from sparkvision.errors import ModelError

#: torch storage type name -> numpy element type (little-endian, as torch writes them)
STORAGE_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(code).newbyteorder("<")
    for name, code in {
        "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2",
        "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2",
        "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
    }.items()
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _StorageRef, offset: int, shape: tuple, stride: tuple,
                    *_rest: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


def _rebuild_parameter(data: _TensorRef, *_rest: Any) -> _TensorRef:
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): name for name in STORAGE_DTYPES},
}


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], what: str) -> None:
        super().__init__(fh)
        self.what = what

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ModelError(
                f"{self.what} holds a {module}.{name} object; expected a plain state dict "
                "(tensors only), which is all that is read without torch"
            ) from None

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise ModelError(f"{self.what}: unexpected persistent record {pid!r:.80}")
        _, type_name, key, _location, numel = pid[:5]
        if type_name not in STORAGE_DTYPES:
            raise ModelError(f"{self.what}: unsupported storage type {type_name!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise ModelError(f"{self.what}: storage views are not supported")
        return _StorageRef(str(key), STORAGE_DTYPES[type_name], int(numel))


def _tensor_refs(obj: Any, what: str) -> dict[str, _TensorRef]:
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, _TensorRef) for k, v in obj.items()
    ):
        raise ModelError(f"{what} is not a state dict (a mapping of names to tensors)")
    return dict(obj)


def _materialise(ref: _TensorRef, raw: bytes, what: str) -> np.ndarray:
    storage = np.frombuffer(raw, dtype=ref.storage.dtype)
    if storage.size != ref.storage.numel:
        raise ModelError(
            f"{what}: storage {ref.storage.key} holds {storage.size} elements, "
            f"expected {ref.storage.numel}; the file is damaged"
        )
    if ref.shape:
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
    else:
        last = ref.offset
    if ref.offset < 0 or (last >= storage.size and min(ref.shape, default=1) > 0):
        raise ModelError(f"{what}: a tensor reaches past the end of its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset:], shape=ref.shape, strides=[s * item for s in ref.stride]
    )
    return np.array(view, dtype=ref.storage.dtype.newbyteorder("="))


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """The tensors of the torch state-dict file ``path``, as numpy arrays by name."""
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path)
        with open(path, "rb") as fh:
            return _load_legacy(fh, path)
    except ModelError:
        raise
    except (OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, struct.error,
            ValueError, TypeError, KeyError) as exc:
        raise ModelError(
            f"could not read {path} as a torch state dict: {type(exc).__name__}: {exc}"
        ) from exc


def _load_zip(path: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ModelError(f"{path} is a zip file without one '<dir>/data.pkl'")
        root = pickles[0][: -len("data.pkl")]
        with archive.open(pickles[0]) as fh:
            refs = _tensor_refs(_StateDictUnpickler(io.BytesIO(fh.read()), path).load(), path)
        raws = {r.storage.key: archive.read(f"{root}data/{r.storage.key}") for r in refs.values()}
    return {name: _materialise(r, raws[r.storage.key], path) for name, r in refs.items()}


def _load_legacy(fh: IO[bytes], path: str) -> dict[str, np.ndarray]:
    header = [_StateDictUnpickler(fh, path).load() for _ in range(3)]
    if header[0] != LEGACY_MAGIC:  # then the protocol version and system information
        raise ModelError(f"{path} is neither a zip nor a legacy torch file")
    refs = _tensor_refs(_StateDictUnpickler(fh, path).load(), path)
    keys = _StateDictUnpickler(fh, path).load()
    by_key = {r.storage.key: r.storage for r in refs.values()}
    raws: dict[str, bytes] = {}
    for key in keys:
        (numel,) = struct.unpack("<q", fh.read(8))
        storage = by_key.get(key)
        size = numel * (storage.dtype.itemsize if storage else 0)
        raws[key] = fh.read(size)
        if storage is None or len(raws[key]) != size:
            raise ModelError(f"{path}: storage {key} is missing or cut short")
    return {name: _materialise(r, raws[r.storage.key], path) for name, r in refs.items()}
