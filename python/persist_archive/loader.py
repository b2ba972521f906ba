"""load(): an archive entry module, a package folder or a DataSet item → dict of its exports."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .arrays import load_arrays
from .confined import open_confined, read_confined, real_root
from .errors import FormatError, NotFoundError
from .reader import PendingArrays, Reader

END_MARKER = "// persist-archive: end of archive"
_FORMAT = re.compile(r"//[^\n]*\bformat (\d+)")


def load(path: str | os.PathLike, *, lazy: bool = False) -> dict[str, Any]:
    """Reads an archive (entry module, package folder, or DataSet item module) without running
    anything in it. Returns its exports (`default` too for single-item archives). External arrays
    are numpy arrays; with `lazy=True` npy files are memory-mapped read-only instead of read."""
    entry, root = entry_module(os.fspath(path))
    return read_module(entry, root, lazy=lazy)


def read_module(entry: str, root: str, *, lazy: bool = False) -> dict[str, Any]:
    data = read_confined(entry, root)
    text = decode(data, entry)
    check_complete(text, entry)
    base = os.path.dirname(entry)

    def arrays(pending: PendingArrays) -> dict:
        return load_arrays(base, root, pending.location, pending.format, pending.names, lazy)

    return Reader(text, entry, arrays).read()


def decode(data: bytes, file: str) -> str:
    # Node reads modules as UTF-8 and replaces invalid bytes; do the same (and drop a BOM).
    text = data.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def check_complete(text: str, file: str) -> None:
    """A format >= 2 module ends with the end-of-archive line; without it the file is truncated."""
    first = text[: text.find("\n")] if "\n" in text else text
    m = _FORMAT.match(first)
    if m is None or int(m.group(1)) < 2:
        return
    if text.rstrip("\r\n \t").endswith(END_MARKER) and text.rstrip("\r\n \t").rsplit("\n", 1)[-1].strip() == END_MARKER:
        return
    raise FormatError(
        f"{file} is truncated: a format {m.group(1)} archive ends with the line `{END_MARKER}`, "
        "and this one does not. Restore it from a backup or save it again.",
        file=file,
    )


def entry_module(path: str) -> tuple[str, str]:
    """(entry module, root folder it may read from) for a module path or a package folder."""
    full = os.path.abspath(path)
    if not os.path.exists(full):
        raise NotFoundError(f"no archive at {full}: pass the entry module or the package directory", file=full)
    if not os.path.isdir(full):
        return full, real_root(os.path.dirname(full))
    root = real_root(full)
    entry = "index.mjs"
    pkg_file = os.path.join(full, "package.json")
    if os.path.exists(pkg_file):
        try:
            pkg = json.loads(read_confined(pkg_file, root, 1 << 20).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise FormatError(f"{pkg_file} is not valid JSON: {error}", file=pkg_file) from None
        found = _exports_entry(pkg.get("exports")) if isinstance(pkg, dict) else None
        if found is None and isinstance(pkg, dict) and isinstance(pkg.get("main"), str):
            found = pkg["main"]
        if found is not None:
            entry = found
    file = os.path.normpath(os.path.join(full, entry))
    rel = os.path.relpath(file, full)
    if rel.startswith("..") or os.path.isabs(rel):
        raise FormatError(f"{pkg_file} points outside the package ({entry})", file=pkg_file)
    if not os.path.isfile(file):
        raise NotFoundError(f"package {full} has no entry module {entry}", file=file)
    return file, root


def _exports_entry(exports: Any) -> str | None:
    if isinstance(exports, str):
        return exports
    if not isinstance(exports, dict):
        return None
    if any(k.startswith(".") for k in exports):
        return _exports_entry(exports.get("."))
    for condition in ("import", "node", "default"):
        if condition in exports:
            found = _exports_entry(exports[condition])
            if found is not None:
                return found
    return None


__all__ = ["load", "read_module", "entry_module", "open_confined"]
