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
import time
import zlib
from typing import Any, Iterator, TypeVar

from .confined import read_confined, real_root
from .emit import Emitter
from .errors import ArchiveError, FormatError, NotFoundError, ReadOnlyError, UnsupportedValueError
from .jsnum import string_literal
from .loader import decode, read_module
from .lock import acquire_lock, create_owner_file, new_owner, process_tag
from .reader import RESERVED, Reader
from .values import JSBigInt
from .writer import DEFAULT_ARRAY_THRESHOLD, fsync_dir, write_archive, write_file

MARKER_FILE = ".persist-dataset.json"
LOCK_FILE = ".persist-dataset.lock"
INDEX_FILE = "index.mjs"
FORMAT = "persist-archive DataSet"
VERSION = 1  # what a new DataSet gets (the TypeScript writers on this version create format 1)
MAX_VERSION = 2
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
        if "\\" not in literal:
            name: Any = literal[1:-1]
        else:
            try:
                name = json.loads(literal)
            except ValueError:
                raise self.error(number, f"{literal} is not a string literal") from None
        return _noted_item_name(self, name, number, literal)

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


JOURNAL_FILE = "index.journal"
JOURNAL_HEADER = "persist-archive DataSet journal 2"
_RECORD = re.compile(rb"([0-9a-f]{8}) (.*)")


class _Journal2:
    """Format 2: `index.journal`, a header line then `<crc32 hex> <json array of operations>`
    records (docs/dataset-format.md). Entries map name -> (info JSON value | _Expr, module)."""

    def __init__(self, file: str, data: bytes) -> None:
        self.file = file
        self.entries: dict[str, tuple[Any, str | None]] = {}
        self.highest: dict[str, int] = {}
        self.torn = False
        header = (JOURNAL_HEADER + "\n").encode()
        if not data.startswith(header):
            raise FormatError(f"{file}:1: not a DataSet journal (the first line must be `{JOURNAL_HEADER}`)", file=file, line=1, column=1)
        pos = len(header)
        number = 1
        damaged: tuple[int, int] | None = None  # (line number, offset) of the first bad record
        n = len(data)
        while pos < n:
            number += 1
            end = data.find(b"\n", pos)
            ops = None
            if end >= 0:
                m = _RECORD.fullmatch(data, pos, end)
                if m is not None and int(m.group(1), 16) == zlib.crc32(m.group(2)):
                    try:
                        value = json.loads(m.group(2).decode("utf-8"))
                        ops = value if isinstance(value, list) else None
                    except (ValueError, UnicodeDecodeError):
                        ops = None
            if ops is None:
                if damaged is None:
                    damaged = (number, pos)
                if end < 0:
                    break
                pos = end + 1
                continue
            if damaged is not None:
                raise FormatError(
                    f"{file}:{damaged[0]}: damaged journal record followed by complete ones; the DataSet index "
                    "is corrupt there (persist verify lists it). Restore it from a backup.",
                    file=file,
                    line=damaged[0],
                    column=1,
                )
            self.apply(ops, number)
            pos = end + 1
        self.size = damaged[1] if damaged is not None else n
        self.torn = damaged is not None

    def apply(self, ops: list, number: int) -> None:
        for op in ops:
            if not isinstance(op, dict):
                raise self.error(number, "an operation is not an object")
            if "set" in op:
                name = self.name(op["set"], number)
                if "expr" in op:
                    if not isinstance(op["expr"], str):
                        raise self.error(number, "expr is not a string")
                    info: Any = _Expr(op["expr"])
                else:
                    info = op.get("info")
                module = op.get("module")
                if module is not None and (not isinstance(module, str) or "/" in module or "\\" in module or not module.endswith(".mjs") or module.startswith(".")):
                    raise self.error(number, f"module {module!r} is not a file name in the DataSet")
                self.entries[name] = (info, module)
            elif "delete" in op:
                self.entries.pop(self.name(op["delete"], number), None)
            else:
                raise self.error(number, "an operation is neither set nor delete")

    def name(self, name: Any, number: int) -> str:
        return _noted_item_name(self, name, number, repr(name))

    next_name = _Journal.next_name

    def error(self, line: int, what: str) -> FormatError:
        return FormatError(f"{self.file}:{line}: bad DataSet journal record ({what})", file=self.file, line=line, column=1)


def _noted_item_name(journal: _Journal | _Journal2, name: Any, line: int, shown: str) -> str:
    """`name` if it is an item name (else a FormatError for `line`, showing it as `shown`), with
    the journal's highest number for its prefix raised to it."""
    if not isinstance(name, str) or not _ITEM_NAME.fullmatch(name):
        raise journal.error(line, f"{shown} is not an item name")
    m = _NUMBERED.fullmatch(name)
    if m is not None:
        n = int(m.group(2))
        if n > journal.highest.get(m.group(1), -1):
            journal.highest[m.group(1)] = n
    return name


_AnyJournal = TypeVar("_AnyJournal", _Journal, _Journal2)


def _repaired(journal: _AnyJournal) -> _AnyJournal:
    """`journal` (read under the lock) with a torn tail, left by a dead writer, truncated away from
    its file, and the file's identity recorded so that appends can check it is still the same file."""
    if journal.torn:
        fd = os.open(journal.file, os.O_WRONLY)
        try:
            os.ftruncate(fd, journal.size)
            os.fsync(fd)
        finally:
            os.close(fd)
    st = os.stat(journal.file)
    journal.identity = (st.st_dev, st.st_ino)  # type: ignore[attr-defined]
    return journal


class _Expr(str):
    """An info written as an archive-language expression (format 2 `expr`)."""


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

    def _version(self) -> int:
        return _read_marker(self.path) or 0

    def _journal(self) -> Any:
        """The index as it is on disk now (format 1 `index.mjs` or format 2 `index.journal`)."""
        for _ in range(3):
            version = self._version()
            if version >= 2:
                file = os.path.join(self.path, JOURNAL_FILE)
                try:
                    return _Journal2(file, read_confined(file, self._root))
                except NotFoundError:
                    continue
            file = os.path.join(self.path, INDEX_FILE)
            data = read_confined(file, self._root)
            if self._version() >= 2:
                continue  # migrated to format 2 while we read
            return _Journal(file, data)
        raise FormatError(f"{self.path}: the DataSet marker says format 2 but {JOURNAL_FILE} is missing", file=self.path)

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
        entry = journal.entries.get(name)
        if entry is None:
            raise self._not_found(name)
        if isinstance(journal, _Journal2):
            info = entry[0]
            if isinstance(info, _Expr):
                return Reader(info, journal.file).read_expression()
            return info
        return Reader(f"export const info = {entry};\n", journal.file).read()["info"]

    def infos(self) -> dict[str, Any]:
        """Every item's info, from one read of the index (name → info, in insertion order)."""
        journal = self._journal()
        if isinstance(journal, _Journal2):
            out = {}
            for name, (info, _) in journal.entries.items():
                if isinstance(info, _Expr):
                    info = Reader(info, journal.file).read_expression()
                out[name] = info
            return out
        # A format 1 index is itself a module of the archive language: read it whole, once.
        info = Reader(journal.text, journal.file).read().get("info", {})
        return {name: info.get(name) for name in journal.entries}

    def get(self, name: str, lazy: bool = False) -> Any:
        """Loads item `name` now (safely: nothing is executed). With `lazy=True` its npy arrays are
        memory-mapped read-only instead of read."""
        journal = self._journal()
        if name not in journal.entries:
            raise self._not_found(name)
        module = journal.entries[name][1] if isinstance(journal, _Journal2) else None
        file = os.path.join(self.path, module or f"{name}.mjs")
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
        with acquire_lock(self._lock_file(), timeout=self.timeout):
            if self._version() < 2:
                journal = self._locked_journal()
                name = journal.next_name(self.name_prefix)
                expr = "null" if info is None else info_expression(info, name)
                self._save_item(name, value)
                self._append(journal, f"info[{string_literal(name)}] = {expr};\n")
                return name
        return self._insert_v2(value, info)

    def _lock_file(self) -> str:
        return os.path.join(self.path, LOCK_FILE)

    def _insert_v2(self, value: Any, info: Any) -> str:
        """Format 2: claim a name (no lock), stage the item's files (no lock), commit its journal
        record under the lock (docs/dataset-format.md, "Writing")."""
        while True:
            journal = self._journal()
            number = journal.highest.get(self.name_prefix, -1) + 1
            while True:
                name = f"{self.name_prefix}{number}"
                claim = os.path.join(self.path, f".{name}.claim")
                if name not in journal.entries:
                    try:
                        create_owner_file(claim, new_owner())
                        break
                    except FileExistsError:
                        pass
                number += 1
            try:
                again = self._journal()
                if name in again.entries or again.highest.get(self.name_prefix, -1) >= number:
                    continue  # committed by someone else meanwhile: give the name up
                op: dict[str, Any] = {"set": name}
                op.update(info_operation(info, name))
                self._save_item(name, value)
                with acquire_lock(self._lock_file(), timeout=self.timeout):
                    self._commit_v2([op])
                return name
            finally:
                try:
                    os.unlink(claim)
                except FileNotFoundError:
                    pass

    def _commit_v2(self, ops: list) -> None:
        file = os.path.join(self.path, JOURNAL_FILE)
        journal = _repaired(_Journal2(file, read_confined(file, self._root)))
        body = json.dumps(ops, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
        self._append(journal, "%08x %s\n" % (zlib.crc32(body), body.decode()))

    def set_info(self, name: str, info: Any) -> None:
        """Replaces the info of existing item `name`."""
        self._must_write()
        expr = "null" if info is None else info_expression(info, name)
        with acquire_lock(self._lock_file(), timeout=self.timeout):
            if self._version() >= 2:
                journal = self._journal()
                if name not in journal.entries:
                    raise self._not_found(name)
                op: dict[str, Any] = {"set": name, **info_operation(info, name)}
                module = journal.entries[name][1]
                if module is not None:
                    op["module"] = module
                self._commit_v2([op])
                return
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
        return _repaired(_Journal(file, data))

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


def info_operation(info: Any, name: str) -> dict[str, Any]:
    """`{"info": json}` when JSON holds the info exactly, else `{"expr": archive-language text}`."""
    if _json_exact(info, 0):
        return {"info": info}
    return {"expr": info_expression(info, name)}


def _json_exact(v: Any, depth: int) -> bool:
    if depth > 500:
        return False
    if v is None or isinstance(v, (bool, str)):
        return True
    if isinstance(v, int):
        return abs(v) <= 2**53 and not isinstance(v, JSBigInt)
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf")) and not (v == 0 and str(v).startswith("-"))
    if type(v) is list:
        return all(_json_exact(x, depth + 1) for x in v)
    if type(v) is dict:
        return all(isinstance(k, str) and k != "__proto__" and _json_exact(x, depth + 1) for k, x in v.items())
    return False


def _check_item_name(name: str, dataset: str) -> None:
    if not _IDENTIFIER.fullmatch(name) or name.startswith("_") or name in RESERVED or name.lower() in ("index", "package", "node_modules"):
        from .errors import InvalidNameError

        raise InvalidNameError(f"DataSet {dataset}: {name!r} cannot name an item; use an identifier like run1 or x_7", value_path=name)


def _read_marker(path: str) -> int:
    """The DataSet format version its marker names; 0 when there is no marker."""
    file = os.path.join(path, MARKER_FILE)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read(1 << 16)
    except FileNotFoundError:
        return 0
    try:
        marker = json.loads(text)
    except ValueError:
        raise FormatError(f"{file} is not valid JSON; restore it as {MARKER_TEXT.strip()}", file=file) from None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT or not isinstance(marker.get("version"), (int, float)):
        raise FormatError(f"{file} does not describe a persist-archive DataSet.", file=file)
    if marker["version"] > MAX_VERSION:
        raise FormatError(
            f"{file}: DataSet format {marker['version']} is newer than this persist_archive reads ({MAX_VERSION}); upgrade persist_archive.",
            file=file,
        )
    return int(marker["version"])


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
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{process_tag()}.{secrets.token_hex(4)}.tmp")
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
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{process_tag()}.{secrets.token_hex(4)}.tmp")
    write_file(tmp, text.encode())
    try:
        os.link(tmp, target)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
