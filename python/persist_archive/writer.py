"""save(): Python values → an archive folder that Node imports natively and load() reads back.

Same layout as the TypeScript Archive.save (src/store/layout.ts): package `name/` with index.mjs,
package.json, index.d.ts, `_arrays/array_N.npy` and the runtime file; or, for a path ending in
`.mjs`, a module `name.mjs` with `name.d.mts` and `name_arrays/` beside it. Everything is written
into a hidden staging folder first and renamed into place, so a failed save leaves nothing half
written.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from importlib import resources
from typing import Any

from .arrays import write_npy
from .emit import Emitter, check_name
from .errors import ArchiveError
from .lock import process_tag
from .reader import RUNTIME_SPECIFIER

RUNTIME_FILE = RUNTIME_SPECIFIER[2:]
DEFAULT_ARRAY_THRESHOLD = 100


def runtime_bytes() -> bytes:
    """The TypeScript package's runtime file, byte for byte (shipped inside this package)."""
    return resources.files("persist_archive").joinpath("_runtime", "persist-runtime.mjs").read_bytes()


def save(path: str | os.PathLike, /, _force: bool = False, _array_threshold: float = DEFAULT_ARRAY_THRESHOLD, **values: Any) -> str:
    """Saves `values` (export name → value) as an archive at `path`: a package folder, or a module
    file when `path` ends in `.mjs`. Returns the entry module's path. Options (underscored, since
    export names never start with "_"): `_force=True` replaces an existing archive;
    `_array_threshold` (default 100) is the element count above which numpy arrays and bytes go to
    `.npy` files beside the module instead of inline."""
    return write_archive(path, values, force=_force, array_threshold=_array_threshold)


def write_archive(path: str | os.PathLike, values: dict[str, Any], *, force: bool = False,
                  array_threshold: float = DEFAULT_ARRAY_THRESHOLD, single_item: bool = False) -> str:
    path = os.path.abspath(os.fspath(path))
    if not values:
        raise ArchiveError("save(): nothing to save; pass values as keyword arguments, e.g. save(path, x=1)")
    for name in values:
        check_name(name)
    as_module = path.endswith(".mjs")
    home = os.path.dirname(path)
    name = os.path.basename(path)[: -4 if as_module else None]
    if not name or name.startswith(".") or "/" in name:
        raise ArchiveError(f"save(): {path} cannot name an archive")
    if os.path.exists(home) and not os.path.isdir(home):
        raise ArchiveError(f"save(): {home} exists and is not a directory; choose a directory to save into", file=home)
    os.makedirs(home, exist_ok=True)
    arrays_name = f"{name}_arrays" if as_module else "_arrays"
    entry_name = f"{name}.mjs" if as_module else "index.mjs"
    decl_name = f"{name}.d.mts" if as_module else "index.d.ts"
    owned = [entry_name, decl_name, arrays_name, f"{arrays_name}.npz", f"{arrays_name}.h5"] if as_module else [name]
    if not force:
        for f in owned:
            if os.path.lexists(os.path.join(home, f)):
                raise ArchiveError(f"save(): {os.path.join(home, f)} already exists; pass _force=True to replace it", file=os.path.join(home, f))
    emitter = Emitter(list(values.items()), array_threshold, f"./{arrays_name}")
    text = emitter.module(single_item=single_item)
    staging = os.path.join(home, f".{name}.{process_tag()}.{secrets.token_hex(4)}.tmp")
    os.mkdir(staging)
    try:
        written = []
        if emitter.externals:
            write_npy_folder(os.path.join(staging, arrays_name), emitter.externals)
            written.append(arrays_name)
        if not as_module and emitter.uses_runtime:
            write_file(os.path.join(staging, RUNTIME_FILE), runtime_bytes())
        decl_text = declarations(list(values), single_item).encode()
        write_file(os.path.join(staging, decl_name), decl_text)
        written.append(decl_name)
        if not as_module:  # index.d.mts pairs with index.mjs; index.d.ts serves node10 resolution
            write_file(os.path.join(staging, "index.d.mts"), decl_text)
        if not as_module:
            write_file(os.path.join(staging, "package.json"), package_json(name).encode())
        write_file(os.path.join(staging, entry_name), text.encode("utf-8", errors="surrogatepass"))
        written.append(entry_name)
        fsync_dir(staging)
        if as_module:
            if emitter.uses_runtime:
                place_runtime(home)
            for f in owned:  # the previous archive's files, any data format
                target = os.path.join(home, f)
                if os.path.lexists(target):
                    os.rename(target, os.path.join(staging, f".replaced.{f}"))
            for f in written:  # data first, the entry module last
                os.rename(os.path.join(staging, f), os.path.join(home, f))
            fsync_dir(home)
            shutil.rmtree(staging, ignore_errors=True)
        else:
            target = os.path.join(home, name)
            aside = staging + ".old"
            had_old = os.path.lexists(target)
            if had_old:
                os.rename(target, aside)
            try:
                os.rename(staging, target)
            except OSError:
                if had_old:
                    os.rename(aside, target)
                raise
            fsync_dir(home)
            if had_old:
                shutil.rmtree(aside, ignore_errors=True)
        return os.path.join(home, entry_name) if as_module else os.path.join(home, name, entry_name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_npy_folder(folder: str, arrays: list) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, arr in arrays:
        fd = os.open(os.path.join(folder, f"{name}.npy"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            write_npy(f, arr)
            f.flush()
            os.fsync(f.fileno())
    fsync_dir(folder)


def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def place_runtime(home: str) -> None:
    """The runtime beside module-layout archives is shared; replace it only when its bytes differ."""
    source = runtime_bytes()
    target = os.path.join(home, RUNTIME_FILE)
    try:
        with open(target, "rb") as f:
            if f.read() == source:
                return
    except FileNotFoundError:
        pass
    tmp = os.path.join(home, f".{RUNTIME_FILE}.{process_tag()}.{secrets.token_hex(4)}.tmp")
    write_file(tmp, source)
    os.replace(tmp, target)
    fsync_dir(home)


def package_json(name: str) -> str:
    pkg = {
        "name": name,
        "private": True,
        "type": "module",
        "description": "Archive written by persist-archive. Import it, or load() it safely.",
        "exports": {".": {"types": "./index.d.mts", "import": "./index.mjs"}},
        "main": "./index.mjs",
        "types": "./index.d.ts",
    }
    return json.dumps(pkg, indent=2) + "\n"


def declarations(names: list[str], single_item: bool) -> str:
    lines = ["// Types of the archive's exports, written by persist-archive (Python)."]
    lines += [f"export declare const {n}: unknown;" for n in names]
    if single_item and len(names) == 1:
        lines.append(f"export default {names[0]};")
    return "\n".join(lines) + "\n"
