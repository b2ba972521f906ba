"""DataSet: read a persist-archive DataSet folder, and insert items into it alongside Node writers.

On disk (see the TypeScript src/dataset and README):
    <ds>/.persist-dataset.json   marker {"format": "persist-archive DataSet", "version": 1}
    <ds>/index.mjs               append-only journal: `export const info = {};` then one line per
                                 change, `info["x_0"] = <expr>;` or `delete info["x_0"];`
    <ds>/<name>.mjs              each item, a single-item archive (`export default …`), data beside
    <ds>/.persist-dataset.lock   the write lock (lock.py), taken per write

Readers consume the index only up to its last newline (a torn last line is ignored); a writer,
under the lock, truncates a torn tail away, writes the item's files, and only then appends the
item's index line with one write() and fsync, so no reader ever sees a listed item that is
incomplete.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from typing import Any, Iterator

from .confined import read_confined, real_root
from .emit import Emitter
from .errors import ArchiveError, FormatError, NotFoundError, ReadOnlyError, UnsupportedValueError
from .jsnum import string_literal
from .loader import decode, read_module
from .lock import acquire_lock
from .reader import RESERVED, Reader
from .writer import DEFAULT_ARRAY_THRESHOLD, fsync_dir, write_archive, write_file

MARKER_FILE = ".persist-dataset.json"
LOCK_FILE = ".persist-dataset.lock"
INDEX_FILE = "index.mjs"
FORMAT = "persist-archive DataSet"
VERSION = 1
MARKER_TEXT = json.dumps({"format": FORMAT, "version": VERSION}, separators=(",", ":")) + "\n"
INDEX_HEADER = (
    "// persist-archive DataSet index, format 1: an append-only journal, one line per change.\n"
    '// Plain ES module: `import { info } from "./index.mjs"` gives every item\'s info (null: none).\n'
    "export const info = {};\n"
)
DECLARATION = "export const info = {};"
_SET = re.compile(r'info\[("(?:[^"\\]|\\.)*")\] = (.+);')
_DELETE = re.compile(r'delete info\[("(?:[^"\\]|\\.)*")\];')
_ITEM_NAME = re.compile(r"[A-Za-z$][A-Za-z0-9_$]*")
_NUMBERED = re.compile(r"(.*?)(0|[1-9][0-9]*)")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class _Journal:
    """The index as read now: names in order with their info expressions, and the highest number
    ever used after each prefix (deleted names included, so names are never reused)."""

    def __init__(self, file: str, data: bytes) -> None:
        self.file = file
        complete = data.rfind(b"\n") + 1
        self.size = complete
        self.torn = complete < len(data)
        self.text = decode(data[:complete], file)
        self.entries: dict[str, str] = {}
        self.highest: dict[str, int] = {}
        declared = False
        for number, raw in enumerate(self.text.split("\n"), 1):
            line = raw.strip()
            if not line or line.startswith("//"):
                continue
            if not declared:
                if line != DECLARATION:
                    raise self.error(number, f"expected `{DECLARATION}` first")
                declared = True
                continue
            m = _SET.fullmatch(line)
            if m is not None:
                self.entries[self.name(m.group(1), number)] = m.group(2)
                continue
            m = _DELETE.fullmatch(line)
            if m is not None:
                self.entries.pop(self.name(m.group(1), number), None)
                continue
            raise self.error(number, 'expected `info["name"] = …;` or `delete info["name"];`')

    def name(self, literal: str, number: int) -> str:
        try:
            name = json.loads(literal)
        except ValueError:
            raise self.error(number, f"{literal} is not a string literal") from None
        if not isinstance(name, str) or not _ITEM_NAME.fullmatch(name):
            raise self.error(number, f"{literal} is not an item name")
        m = _NUMBERED.fullmatch(name)
        if m is not None:
            n = int(m.group(2))
            if n > self.highest.get(m.group(1), -1):
                self.highest[m.group(1)] = n
        return name

    def next_name(self, prefix: str) -> str:
        n = self.highest.get(prefix, -1) + 1
        while f"{prefix}{n}" in self.entries:
            n += 1
        return f"{prefix}{n}"

    def error(self, line: int, what: str) -> FormatError:
        return FormatError(
            f"{self.file}:{line}: not a DataSet index line ({what}). The index is an append-only journal "
            "written by persist-archive; restore it from a backup or fix that line.",
            file=self.file,
            line=line,
            column=1,
        )


class DataSet:
    """A persist-archive DataSet folder.

    ``DataSet(path)`` opens it read-only; ``DataSet(path, mode="w")`` also lets you ``insert()``
    (creating the folder if missing). Every call reads fresh from disk, so items other processes
    (Python or Node) add appear at once. Mapping-like: ``len(ds)``, ``name in ds``, ``ds[name]``,
    ``for name in ds``.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "r", *, array_threshold: float = DEFAULT_ARRAY_THRESHOLD,
                 timeout: float = 60.0, name_prefix: str = "x_") -> None:
        if mode not in ("r", "w"):
            raise ArchiveError(f'DataSet({path!r}): mode must be "r" or "w", not {mode!r}')
        self.path = os.path.abspath(os.fspath(path))
        self.mode = mode
        self.array_threshold = array_threshold
        self.timeout = timeout
        self.name_prefix = name_prefix
        _check_item_name(f"{name_prefix}0", self.path)
        self._open()
        self._root = real_root(self.path)
        self._cache: tuple[Any, _Journal] | None = None

    def __repr__(self) -> str:
        return f"DataSet({self.path!r}, mode={self.mode!r})"

    # ---- opening -------------------------------------------------------------------------------

    def _open(self) -> None:
        path = self.path
        if not os.path.exists(path):
            if self.mode == "r":
                raise NotFoundError(f'No DataSet at {path}: the path does not exist. Open it with mode="w" to create it.', file=path)
            _create(path)
        if not os.path.isdir(path):
            raise ArchiveError(f"{path} is a file, not a DataSet directory; choose another path.", file=path)
        if _read_marker(path):
            return
        entries = os.listdir(path)
        if self.mode == "w" and all(_is_creation_file(e) for e in entries):
            _create(path)
            if _read_marker(path):
                return
        raise ArchiveError(
            f"{path} exists but is not a DataSet (it has no {MARKER_FILE}); it was left untouched. "
            "Choose a new or empty directory for a DataSet.",
            file=path,
        )

    # ---- reading -------------------------------------------------------------------------------

    def _journal(self) -> _Journal:
        file = os.path.join(self.path, INDEX_FILE)
        st = os.stat(file)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        journal = _Journal(file, read_confined(file, self._root))
        self._cache = (key, journal)
        return journal

    def keys(self) -> list[str]:
        """Item names in insertion order, fresh from disk."""
        return list(self._journal().entries)

    def __len__(self) -> int:
        return len(self._journal().entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._journal().entries

    def info(self, name: str) -> Any:
        """The info stored with item `name` (None when none was given)."""
        journal = self._journal()
        expr = journal.entries.get(name)
        if expr is None:
            raise self._not_found(name)
        return Reader(f"export const info = {expr};\n", journal.file).read()["info"]

    def infos(self) -> dict[str, Any]:
        """Every item's info, from one read of the index (name → info, in insertion order)."""
        journal = self._journal()
        # The index is itself a module of the archive language: read it whole, once.
        info = Reader(journal.text, journal.file).read().get("info", {})
        return {name: info.get(name) for name in journal.entries}

    def get(self, name: str, lazy: bool = False) -> Any:
        """Loads item `name` now (safely: nothing is executed). With `lazy=True` its npy arrays are
        memory-mapped read-only instead of read."""
        if name not in self._journal().entries:
            raise self._not_found(name)
        file = os.path.join(self.path, f"{name}.mjs")
        exports = read_module(file, self._root, lazy=lazy)
        if "default" not in exports:
            raise FormatError(f"{file} has no default export; it is not a DataSet item", file=file)
        return exports["default"]

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def items(self) -> Iterator[tuple[str, Any]]:
        """(name, info) pairs, like the TypeScript DataSet's async iteration."""
        return iter(self.infos().items())

    def _not_found(self, name: str) -> NotFoundError:
        return NotFoundError(
            f"DataSet {self.path} has no item {name!r}; keys() lists the items it has.",
            file=os.path.join(self.path, f"{name}.mjs"),
            value_path=str(name),
        )

    # ---- writing -------------------------------------------------------------------------------

    def insert(self, value: Any, info: Any = None) -> str:
        """Stores `value` under a new name (name_prefix + next integer, unique across processes and
        languages) with `info`; returns the name. Takes the DataSet's write lock like Node does."""
        self._must_write()
        with acquire_lock(os.path.join(self.path, LOCK_FILE), timeout=self.timeout):
            journal = self._locked_journal()
            name = journal.next_name(self.name_prefix)
            expr = "null" if info is None else info_expression(info, name)
            self._save_item(name, value)
            self._append(journal, f"info[{string_literal(name)}] = {expr};\n")
            return name

    def set_info(self, name: str, info: Any) -> None:
        """Replaces the info of existing item `name`."""
        self._must_write()
        expr = "null" if info is None else info_expression(info, name)
        with acquire_lock(os.path.join(self.path, LOCK_FILE), timeout=self.timeout):
            journal = self._locked_journal()
            if name not in journal.entries:
                raise self._not_found(name)
            self._append(journal, f"info[{string_literal(name)}] = {expr};\n")

    def _must_write(self) -> None:
        if self.mode != "w":
            raise ReadOnlyError(f'DataSet {self.path} was opened read-only; open it with mode="w" to change it.', file=self.path)

    def _locked_journal(self) -> _Journal:
        """The index under the lock, a torn last line (left by a dead writer) truncated away."""
        file = os.path.join(self.path, INDEX_FILE)
        data = read_confined(file, self._root)
        journal = _Journal(file, data)
        if journal.torn:
            fd = os.open(file, os.O_WRONLY)
            try:
                os.ftruncate(fd, journal.size)
                os.fsync(fd)
            finally:
                os.close(fd)
        st = os.stat(file)
        journal.identity = (st.st_dev, st.st_ino)  # type: ignore[attr-defined]
        return journal

    def _save_item(self, name: str, value: Any) -> None:
        write_archive(
            os.path.join(self.path, f"{name}.mjs"),
            {name: value},
            force=True,
            array_threshold=self.array_threshold,
            single_item=True,
        )

    def _append(self, journal: _Journal, line: str) -> None:
        file = journal.file
        data = line.encode("utf-8", errors="surrogatepass")
        fd = os.open(file, os.O_WRONLY | os.O_APPEND)
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != journal.identity or st.st_size != journal.size:  # type: ignore[attr-defined]
                raise ArchiveError(f"internal: {file} changed under the write lock")
            written = os.write(fd, data)  # one write(): a reader or a kill sees all of it or none
            if written != len(data):
                raise ArchiveError(
                    f"short write to {file} ({written} of {len(data)} bytes): is the disk full? The next writer removes the partial line",
                    file=file,
                )
            os.fsync(fd)
        finally:
            os.close(fd)
        self._cache = None


def info_expression(info: Any, name: str) -> str:
    """An info value as a one-line, self-contained archive-language expression (no bindings)."""
    emitter = Emitter([], float("inf"), "./_none")
    emitter.tree = True
    emitter.count()
    try:
        out = emitter.value(info, f"{name}.info", 0)
    except RecursionError:
        raise UnsupportedValueError(f"{name}.info is nested too deeply", value_path=f"{name}.info") from None
    if emitter.statements or emitter.imports or not isinstance(out, str):
        raise UnsupportedValueError(
            f"{name}.info: an info must be a tree of plain values (dicts, lists, numbers, strings, dates, "
            "sets) without shared references, cycles or numpy arrays; store those in the item itself",
            value_path=f"{name}.info",
        )
    if "\n" in out or "\r" in out:
        raise ArchiveError(f"internal: the info expression of {name} is not one line")
    return out


def _check_item_name(name: str, dataset: str) -> None:
    if not _IDENTIFIER.fullmatch(name) or name.startswith("_") or name in RESERVED or name.lower() in ("index", "package", "node_modules"):
        from .errors import InvalidNameError

        raise InvalidNameError(f"DataSet {dataset}: {name!r} cannot name an item; use an identifier like run1 or x_7", value_path=name)


def _read_marker(path: str) -> bool:
    file = os.path.join(path, MARKER_FILE)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read(1 << 16)
    except FileNotFoundError:
        return False
    try:
        marker = json.loads(text)
    except ValueError:
        raise FormatError(f"{file} is not valid JSON; restore it as {MARKER_TEXT.strip()}", file=file) from None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT or not isinstance(marker.get("version"), (int, float)):
        raise FormatError(f"{file} does not describe a persist-archive DataSet.", file=file)
    if marker["version"] > VERSION:
        raise FormatError(
            f"{file}: DataSet format {marker['version']} is newer than this persist_archive reads ({VERSION}); upgrade persist_archive.",
            file=file,
        )
    return True


def _is_creation_file(name: str) -> bool:
    return name in (INDEX_FILE, MARKER_FILE) or name.startswith(f".{INDEX_FILE}.") or name.startswith(f".{MARKER_FILE}.")


def _create(path: str) -> None:
    """Makes `path` a new DataSet: built beside it and renamed into place (or, for an existing
    empty folder, filled with no-overwrite links, index before marker) — as the TS writer does."""
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(path):
        _link_new(os.path.join(path, INDEX_FILE), INDEX_HEADER)
        _link_new(os.path.join(path, MARKER_FILE), MARKER_TEXT)
        fsync_dir(path)
        return
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        os.mkdir(tmp)
        write_file(os.path.join(tmp, INDEX_FILE), INDEX_HEADER.encode())
        write_file(os.path.join(tmp, MARKER_FILE), MARKER_TEXT.encode())
        fsync_dir(tmp)
        os.rename(tmp, path)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if not isinstance(error, (FileExistsError,)) and error.errno not in (39, 17):  # ENOTEMPTY, EEXIST
            raise
        return
    fsync_dir(parent)


def _link_new(target: str, text: str) -> None:
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    write_file(tmp, text.encode())
    try:
        os.link(tmp, target)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
