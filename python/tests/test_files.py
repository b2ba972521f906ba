"""Untrusted files: confinement after symlinks, regular files only (a FIFO must not hang), sizes
checked against the file before allocating, npz CRC and inflation bounds, HDF5 links refused."""

import io
import os
import threading
import zipfile

import numpy as np
import pytest

from persist_archive import FormatError, NotFoundError, load, save
from persist_archive.arrays import read_npy

RUNTIME = 'import { loadArrays as _loadArrays } from "./_persist_runtime.v1.mjs";\n'


def module(folder, text, name="a.mjs"):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_array_files_may_not_leave_the_archive_folder_through_symlinks(tmp):
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    np.save(os.path.join(outside, "array_0.npy"), np.arange(3))
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    os.symlink(outside, os.path.join(home, "a_arrays"))
    entry = module(home, RUNTIME + 'const _arrays = await _loadArrays(import.meta.url, "./a_arrays", "npy", ["array_0"]);\nexport const x = _arrays.array_0;\n')
    with pytest.raises(FormatError, match="outside the archive folder"):
        load(entry)
    # a symlink that stays inside the folder is fine
    os.makedirs(os.path.join(home, "real"))
    np.save(os.path.join(home, "real", "array_0.npy"), np.arange(3))
    os.unlink(os.path.join(home, "a_arrays"))
    os.symlink(os.path.join(home, "real"), os.path.join(home, "a_arrays"))
    assert load(entry)["x"].tolist() == [0, 1, 2]


def test_a_fifo_is_refused_without_blocking(tmp):
    os.mkfifo(os.path.join(tmp, "a.mjs"))
    result = {}

    def attempt():
        try:
            load(os.path.join(tmp, "a.mjs"))
        except Exception as error:  # noqa: BLE001
            result["error"] = error

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert isinstance(result["error"], FormatError) and "not a regular file" in str(result["error"])


def test_missing_and_truncated_npy(tmp):
    entry = module(tmp, RUNTIME + 'const _arrays = await _loadArrays(import.meta.url, "./a_arrays", "npy", ["array_0"]);\nexport const x = _arrays.array_0;\n')
    with pytest.raises(NotFoundError):
        load(entry)
    os.makedirs(os.path.join(tmp, "a_arrays"))
    data = npy_bytes(np.arange(1000.0))
    with open(os.path.join(tmp, "a_arrays", "array_0.npy"), "wb") as f:
        f.write(data[:-8])
    with pytest.raises(FormatError, match="truncated"):
        load(entry)
    with pytest.raises(FormatError, match="truncated"):
        load(entry, lazy=True)
    with open(os.path.join(tmp, "a_arrays", "array_0.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 100)
    with pytest.raises(FormatError):
        load(entry)
    obj = np.array([{"a": 1}], dtype=object)
    with open(os.path.join(tmp, "a_arrays", "array_0.npy"), "wb") as f:
        np.save(f, obj, allow_pickle=True)
    with pytest.raises(FormatError, match="not a number dtype"):
        load(entry)


def test_lazy_npy_is_memory_mapped_read_only(tmp):
    np.save(os.path.join(tmp, "x.npy"), np.asfortranarray(np.arange(12.0).reshape(3, 4)))
    arr = read_npy(os.path.join(tmp, "x.npy"), os.path.realpath(tmp), lazy=True)
    assert isinstance(arr, np.memmap) and not arr.flags.writeable and arr.flags.f_contiguous
    assert arr.tolist() == np.arange(12.0).reshape(3, 4).tolist()


def npz_module(tmp):
    return module(tmp, RUNTIME + 'const _arrays = await _loadArrays(import.meta.url, "./a.npz", "npz", ["array_0"]);\nexport const x = _arrays.array_0;\n')


def test_npz_crc_and_inflation_bounds(tmp):
    entry = npz_module(tmp)
    path = os.path.join(tmp, "a.npz")
    np.savez(path, array_0=np.arange(100.0))
    assert load(entry)["x"].tolist() == list(np.arange(100.0))
    data = bytearray(open(path, "rb").read())
    data[200] ^= 0xFF  # flip a data byte: the stored CRC no longer matches
    open(path, "wb").write(bytes(data))
    with pytest.raises(FormatError, match="corrupt zip entry|CRC"):
        load(entry)
    # a deflated entry that claims far more bytes than deflate can produce
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("array_0.npy", npy_bytes(np.zeros(10)))
    raw = bytearray(open(path, "rb").read())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (2**31).to_bytes(4, "little")  # uncompressed size
    open(path, "wb").write(bytes(raw))
    with pytest.raises(FormatError):
        load(entry)
    open(path, "wb").write(b"not a zip at all")
    with pytest.raises(FormatError, match="not a zip"):
        load(entry)


def test_package_json_may_not_point_outside(tmp):
    pkg = os.path.join(tmp, "pkg")
    os.makedirs(pkg)
    module(tmp, "export const x = 1;\n", "secret.mjs")
    with open(os.path.join(pkg, "package.json"), "w") as f:
        f.write('{"exports": "../secret.mjs"}')
    with pytest.raises(FormatError, match="outside the package"):
        load(pkg)


def test_entry_module_symlinked_out_of_its_package_is_refused(tmp):
    pkg = os.path.join(tmp, "pkg")
    os.makedirs(pkg)
    module(tmp, "export const x = 1;\n", "secret.mjs")
    os.symlink(os.path.join(tmp, "secret.mjs"), os.path.join(pkg, "index.mjs"))
    with pytest.raises(FormatError, match="outside the archive folder"):
        load(pkg)




def test_hdf5_links_and_virtual_datasets_are_refused(tmp):
    h5py = pytest.importorskip("h5py")
    entry = module(tmp, RUNTIME + 'const _arrays = await _loadArrays(import.meta.url, "./a.h5", "hdf5", ["array_0"]);\nexport const x = _arrays.array_0;\n')
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(5)
    with h5py.File(os.path.join(tmp, "a.h5"), "w") as f:
        f["array_0"] = h5py.ExternalLink(other, "data")
    with pytest.raises(FormatError, match="ExternalLink"):
        load(entry)
    with h5py.File(os.path.join(tmp, "a.h5"), "w") as f:
        layout = h5py.VirtualLayout(shape=(5,), dtype="i8")
        layout[:] = h5py.VirtualSource(other, "data", shape=(5,))
        f.create_virtual_dataset("array_0", layout)
    with pytest.raises(FormatError, match="virtual"):
        load(entry)
    with h5py.File(os.path.join(tmp, "a.h5"), "w") as f:
        f.create_dataset("array_0", (4,), dtype="f8", external=[(other, 0, 32)])
    with pytest.raises(FormatError, match="external"):
        load(entry)
    with h5py.File(os.path.join(tmp, "a.h5"), "w") as f:
        f["array_0"] = np.arange(6.0).reshape(2, 3)
        f["array_0"].attrs["persist_order"] = "F"
    x = load(entry)["x"]
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x.flags.f_contiguous
    open(os.path.join(tmp, "a.h5"), "wb").write(b"junk" * 100)
    with pytest.raises(FormatError, match="HDF5"):
        load(entry)


def test_save_then_load_survives_the_writer_being_pointed_at_a_file(tmp):
    open(os.path.join(tmp, "file"), "w").close()
    from persist_archive import ArchiveError

    with pytest.raises(ArchiveError, match="not a directory"):
        save(os.path.join(tmp, "file", "x"), a=1)
