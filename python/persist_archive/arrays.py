"""External array files (npy folder, npz, HDF5): reading them safely, writing npy files.

Reading mirrors the TypeScript runtime's loadArrays: every file is confined to the archive folder
and must be a regular file; sizes in headers are checked against the file before anything is
allocated; npz entries have their CRC checked and cannot inflate beyond what deflate can produce.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any

import numpy as np

from .confined import confined_path, open_confined
from .errors import ArchiveError, FormatError, NotFoundError, UnsupportedValueError

#: numpy kinds a JS TypedArray can hold both ways: kind -> (TypedArray class that stores it).
STORAGE = {
    "b1": "Uint8Array",
    "i1": "Int8Array",
    "u1": "Uint8Array",
    "i2": "Int16Array",
    "u2": "Uint16Array",
    "f2": "Uint16Array",
    "i4": "Int32Array",
    "u4": "Uint32Array",
    "f4": "Float32Array",
    "i8": "BigInt64Array",
    "u8": "BigUint64Array",
    "f8": "Float64Array",
    "c8": "Float32Array",
    "c16": "Float64Array",
}
DEFAULT_KIND = {
    "Int8Array": "i1",
    "Uint8Array": "u1",
    "Uint8ClampedArray": "u1",
    "Int16Array": "i2",
    "Uint16Array": "u2",
    "Int32Array": "i4",
    "Uint32Array": "u4",
    "Float32Array": "f4",
    "Float64Array": "f8",
    "BigInt64Array": "i8",
    "BigUint64Array": "u8",
}
# Deflate cannot expand more than about 1032:1; a larger declared size is a lie (a zip bomb).
MAX_DEFLATE_RATIO = 1032


def descr_for_ctor(ctor: str) -> str:
    kind = DEFAULT_KIND.get(ctor)
    if kind is None:
        raise FormatError(f"{ctor} is not a TypedArray class")
    return ("|" if kind[1:] == "1" else "<") + kind


def dtype_from_descr(descr: Any) -> tuple[np.dtype, str]:
    """numpy dtype and storing TypedArray class for an NDArray dtype option ("<f8", "|b1", ...)."""
    if not isinstance(descr, str) or len(descr) < 2:
        raise FormatError(f"unsupported dtype {descr!r}")
    order, kind = descr[0], descr[1:]
    if order not in "<>|=":
        order, kind = "=", descr
    if kind not in STORAGE:
        raise FormatError(f"unsupported dtype {descr!r}")
    itemsize = int(kind[1:]) // (2 if kind[0] == "c" else 1)
    if order == "|" and itemsize != 1:
        raise FormatError(f"unsupported dtype {descr!r}")
    return np.dtype(("|" if itemsize == 1 else "<") + kind.replace("b1", "b1")), STORAGE[kind]


def js_descr(dtype: np.dtype) -> str | None:
    """The little-endian numpy descr the TypeScript side can hold for `dtype`, or None."""
    kind = dtype.kind + str(dtype.itemsize)
    if dtype.kind == "b":
        kind = "b1"
    if kind not in STORAGE:
        return None
    return ("|" if dtype.itemsize == 1 else "<") + kind


# ---- npy --------------------------------------------------------------------------------------


def _npy_header(f: Any, size: int, where: str) -> tuple[tuple, bool, np.dtype, int]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=65536)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=65536)
        else:
            raise ValueError(f"npy version {version} is not supported")
    except (ValueError, OSError, SyntaxError, TypeError, EOFError) as error:
        raise FormatError(f"{where}: not a valid .npy file ({error})", file=where) from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise FormatError(f"{where}: dtype {dtype.str} is not a number dtype (objects are never unpickled)", file=where)
    offset = f.tell()
    count = 1
    for d in shape:
        count *= d
    if offset + count * dtype.itemsize > size:
        raise FormatError(
            f"{where}: truncated: the header promises {count * dtype.itemsize} bytes of data, the file has {max(0, size - offset)}",
            file=where,
        )
    return shape, fortran, dtype, offset


def read_npy(path: str, root: str, lazy: bool = False) -> np.ndarray:
    """Reads one .npy file inside `root`; memory-mapped read-only when `lazy`."""
    with open_confined(path, root) as f:
        size = os.fstat(f.fileno()).st_size
        shape, fortran, dtype, offset = _npy_header(f, size, path)
        order = "F" if fortran else "C"
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if lazy and count > 0:
            return np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
        data = f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise FormatError(f"{path}: truncated data", file=path)
        arr = np.frombuffer(bytearray(data), dtype=dtype, count=count)
        return _native(arr.reshape(shape, order=order))


def _native(arr: np.ndarray) -> np.ndarray:
    """Big-endian input comes back little-endian (as the TypeScript reader does)."""
    if arr.dtype.byteorder == ">":
        return arr.astype(arr.dtype.newbyteorder("<"))
    return arr


def write_npy(f: Any, arr: np.ndarray) -> None:
    np.lib.format.write_array(f, arr, version=None, allow_pickle=False)


# ---- npz --------------------------------------------------------------------------------------


def read_npz(path: str, root: str, names: list[str]) -> dict[str, np.ndarray]:
    with open_confined(path, root) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            z = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise FormatError(f"{path}: not a zip/npz file ({error})", file=path) from None
        with z:
            infos = {i.filename[:-4]: i for i in z.infolist() if i.filename.endswith(".npy")}
            out = {}
            for name in names:
                info = infos.get(name)
                if info is None:
                    raise FormatError(f'{path} has no array "{name}" (no entry {name}.npy)', file=path)
                out[name] = _npz_entry(z, info, path, size, name)
            return out


def _npz_entry(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, size: int, name: str) -> np.ndarray:
    where = f"{path} (array {name})"
    if info.flag_bits & 1:
        raise FormatError(f"{where}: encrypted zip entries are not supported", file=path)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(f"{where}: zip compression method {info.compress_type} is not supported (stored or deflate only)", file=path)
    if info.header_offset + 30 + info.compress_size > size:
        raise FormatError(f"{where}: zip entry data is truncated", file=path)
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise FormatError(f"{where}: stored zip entry has mismatched sizes", file=path)
    if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + (1 << 20):
        raise FormatError(f"{where}: declared size {info.file_size} is impossible for {info.compress_size} compressed bytes", file=path)
    try:
        with z.open(info) as entry:
            data = entry.read(info.file_size + 1)  # the CRC is checked when the entry ends
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise FormatError(f"{where}: corrupt zip entry ({error})", file=path) from None
    if len(data) != info.file_size:
        raise FormatError(f"{where}: inflated zip entry has the wrong size", file=path)
    import io

    buf = io.BytesIO(data)
    shape, fortran, dtype, offset = _npy_header(buf, len(data), where)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    arr = np.frombuffer(bytearray(data[offset : offset + count * dtype.itemsize]), dtype=dtype, count=count)
    return _native(arr.reshape(shape, order="F" if fortran else "C"))


# ---- HDF5 -------------------------------------------------------------------------------------


def read_hdf5(path: str, root: str, names: list[str]) -> dict[str, np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise ArchiveError(f"{path}: reading HDF5 needs the h5py package (pip install h5py), or convert the archive to npy", file=path) from None
    real = confined_path(path, root)
    with open_confined(real, root) as probe:
        head = probe.read(8)
    if head != b"\x89HDF\r\n\x1a\n":
        raise FormatError(f"{path}: not an HDF5 file (no HDF5 signature)", file=path)
    try:
        h5 = h5py.File(real, "r")
    except OSError as error:
        raise FormatError(f"{path}: h5py cannot open it ({error})", file=path) from None
    with h5:
        out = {}
        for name in names:
            link = h5.get(name, getlink=True)
            if link is None:
                raise FormatError(f'{path} has no dataset named "{name}"', file=path)
            if not isinstance(link, h5py.HardLink):
                raise FormatError(f'{path}: "{name}" is a {type(link).__name__}, not a dataset in this file (links are refused)', file=path)
            ds = h5[name]
            if not isinstance(ds, h5py.Dataset):
                raise FormatError(f'{path}: "{name}" is not a dataset', file=path)
            if ds.is_virtual:
                raise FormatError(f'{path}: dataset "{name}" is virtual (it reads other files); refused', file=path)
            if ds.external:
                raise FormatError(f'{path}: dataset "{name}" keeps its data in external files; refused', file=path)
            if ds.dtype.hasobject or ds.dtype.kind not in "biufc":
                raise FormatError(f'{path}: dataset "{name}" has dtype {ds.dtype} which is not a number dtype', file=path)
            try:
                arr = ds[()]
            except (OSError, ValueError) as error:
                raise FormatError(f'{path}: HDF5 error reading dataset "{name}": {error}', file=path) from None
            arr = np.asarray(arr)
            if ds.attrs.get("persist_dtype") in ("|b1", b"|b1") and arr.dtype.kind in "iu":
                arr = arr.astype(bool)
            if ds.attrs.get("persist_order") in ("F", b"F"):
                arr = np.asfortranarray(arr)
            out[name] = _native(arr)
        return out


def load_arrays(base_dir: str, root: str, location: str, fmt: str, names: list[str], lazy: bool) -> dict[str, np.ndarray]:
    """The arrays a `_loadArrays(import.meta.url, location, fmt, names)` statement names."""
    path = os.path.join(base_dir, location)
    try:
        if fmt == "npy":
            return {name: read_npy(os.path.join(path, f"{name}.npy"), root, lazy) for name in names}
        if fmt == "npz":
            return read_npz(path, root, names)
        return read_hdf5(path, root, names)
    except NotFoundError as error:
        raise NotFoundError(f"data file is missing: {error}", file=error.file) from None


def check_writable(arr: np.ndarray, where: str) -> np.ndarray:
    """An array the TypeScript side can read back: number dtypes, little-endian, not object."""
    descr = js_descr(arr.dtype)
    if descr is None:
        raise UnsupportedValueError(
            f"{where}: numpy dtype {arr.dtype} has no JavaScript TypedArray (use bool, int8..int64, "
            "uint8..uint64, float16/32/64 or complex64/128)",
            value_path=where,
        )
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr
