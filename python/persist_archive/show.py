"""`python3 -m persist_archive show PATH [--json]`: the listing `persist show` prints (src/cli/show.ts)."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from datetime import datetime
from typing import Any

import numpy as np

from .arrays import js_descr
from .confined import read_confined, real_root
from .dataset import MARKER_FILE, DataSet
from .errors import ArchiveError, NotFoundError
from .jsnum import number_to_string
from .loader import check_complete, decode, entry_module
from .reader import Reader, PendingArrays
from .arrays import load_arrays
from .values import (
    HOLE,
    UNDEFINED,
    Instance,
    JSBigInt,
    JSBoxed,
    JSDataView,
    JSDate,
    JSError,
    JSFunction,
    JSMap,
    JSRegExp,
    JSSet,
    JSSymbol,
)

_DATA_LOCATION = re.compile(r'_loadArrays\(import\.meta\.url, "\./([A-Za-z0-9_$][A-Za-z0-9_$.-]*)", "(npy|npz|hdf5)"')
_KIND_OF_DESCR = {"b1": "Uint8Array", "i1": "Int8Array", "u1": "Uint8Array", "i2": "Int16Array", "u2": "Uint16Array",
                  "f2": "Uint16Array", "i4": "Int32Array", "u4": "Uint32Array", "f4": "Float32Array", "i8": "BigInt64Array",
                  "u8": "BigUint64Array", "f8": "Float64Array", "c8": "Float32Array", "c16": "Float64Array"}


def format_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    value = float(n)
    unit = "B"
    for u in ("kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value /= 1000
        unit = u
    # JS toFixed(1) / Math.round (round half up)
    text = f"{math.floor(value * 10 + 0.5) / 10:.1f}" if value < 10 else str(math.floor(value + 0.5))
    return f"{text} {unit}"


def files_at(path: str) -> list[tuple[str, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    if not os.path.isdir(path):
        return [(path, st.st_size)]
    out = []
    for entry in sorted(os.listdir(path)):
        out.extend(files_at(os.path.join(path, entry)))
    return out


def summarize(value: Any, kinds: dict[int, str]) -> dict[str, Any]:
    if value is None:
        return {"kind": "null"}
    if value is UNDEFINED or value is HOLE:
        return {"kind": "undefined"}
    if isinstance(value, bool):
        return {"kind": "boolean"}
    if isinstance(value, JSBigInt):
        return {"kind": "bigint"}
    if isinstance(value, (int, float)):
        return {"kind": "number"}
    if isinstance(value, str):
        return {"kind": "string"}
    if isinstance(value, JSSymbol):
        return {"kind": "symbol"}
    if isinstance(value, Instance):
        return {"kind": value.name, "module": value.module}
    if isinstance(value, JSFunction):
        return {"kind": "function", "module": value.module} if value.module else {"kind": "function"}
    if isinstance(value, np.ndarray):
        descr = js_descr(value.dtype) or value.dtype.str
        ctor = kinds.get(id(value))
        if ctor is not None:
            return {"kind": ctor, "dtype": descr if ctor != "Uint8ClampedArray" else "|u1", "shape": list(value.shape)}
        return {"kind": "NDArray", "dtype": descr, "shape": list(value.shape)}
    if isinstance(value, JSMap) or (isinstance(value, dict) and kinds.get(id(value)) == "Map"):
        return {"kind": "Map", "entries": len(value)}
    if isinstance(value, (set, JSSet)):
        return {"kind": "Set", "entries": len(value)}
    if isinstance(value, list):
        return {"kind": "array", "entries": len(value)}
    if isinstance(value, dict):
        return {"kind": "object", "entries": len(value)}
    if isinstance(value, bytearray):
        return {"kind": "ArrayBuffer", "entries": len(value)}
    if isinstance(value, JSDataView):
        return {"kind": "DataView", "entries": value.byte_length}
    if isinstance(value, (datetime, JSDate)):
        return {"kind": "Date"}
    if isinstance(value, JSRegExp):
        return {"kind": "RegExp"}
    if isinstance(value, JSError):
        return {"kind": value.name}
    if isinstance(value, JSBoxed):
        inner = value.value
        return {"kind": "Boolean" if isinstance(inner, bool) else "String" if isinstance(inner, str) else "BigInt" if isinstance(inner, JSBigInt) else "Symbol" if isinstance(inner, JSSymbol) else "Number"}
    return {"kind": "object"}


def nested_arrays(value: Any, name: str, kinds: dict[int, str], limit: int = 1000) -> list[dict[str, Any]]:
    """Arrays inside an export below its top level, depth first, with their paths (as
    nestedArrays in src/cli/describe.ts): `results.field`, `runs[2]`, `m.get("k")`."""
    out: list[dict[str, Any]] = []

    def children(v: Any, path: str) -> list[tuple[Any, str]]:
        if isinstance(v, Instance):
            return [(a, f"{path}.args[{i}]") for i, a in enumerate(v.args)]
        if isinstance(v, JSMap) or (isinstance(v, dict) and kinds.get(id(v)) == "Map"):
            items = list(v) if isinstance(v, JSMap) else list(v.items())
            res = []
            for i, (k, x) in enumerate(items):
                key = json.dumps(k, ensure_ascii=False) if isinstance(k, str) else number_to_string(k) if isinstance(k, (int, float)) and not isinstance(k, bool) else f"#{i}"
                res.append((x, f"{path}.get({key})"))
            return res
        if isinstance(v, (set, JSSet)):
            return [(x, f"{path}.values[{i}]") for i, x in enumerate(v)]
        if isinstance(v, list):
            return [(x, f"{path}[{i}]") for i, x in enumerate(v) if x is not HOLE]
        if isinstance(v, dict):
            return [(x, f"{path}.{k}" if re.fullmatch(r"[A-Za-z_$][\w$]*", k, re.ASCII) else f"{path}[{json.dumps(k, ensure_ascii=False)}]") for k, x in v.items()]
        return []

    if not _is_object(value) or isinstance(value, np.ndarray):
        return out
    seen = {id(value)}
    stack = list(reversed(children(value, name)))
    visited = 0
    while stack and len(out) < limit and visited < 100_000:
        visited += 1
        v, path = stack.pop()
        if not _is_object(v) or id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, np.ndarray):
            s = summarize(v, kinds)
            out.append({"path": path, "kind": s["kind"], "dtype": s.get("dtype", ""), "shape": s.get("shape", [])})
            continue
        stack.extend(reversed(children(v, path)))
    return out


def _is_object(v: Any) -> bool:
    return not (v is None or v is UNDEFINED or v is HOLE or isinstance(v, (bool, int, float, str, JSSymbol, JSFunction)))


def summary_text(s: dict[str, Any]) -> str:
    parts = [s["kind"]]
    if "dtype" in s:
        parts.append(s["dtype"])
    if "shape" in s:
        parts.append("[" + ", ".join(str(d) for d in s["shape"]) + "]")
    if s.get("module") is not None:
        parts.append(f'from "{s["module"]}"')
    if "entries" in s:
        n = s["entries"]
        unit = "bytes" if s["kind"] in ("ArrayBuffer", "DataView") else "entry" if n == 1 else "entries"
        parts.append(f"{n} {unit}")
    return " ".join(parts)


def inspect(value: Any, depth: int = 0) -> str:
    """A short rendering in the style of Node's util.inspect (for infos in the table)."""
    if value is None:
        return "null"
    if value is UNDEFINED or value is HOLE:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JSBigInt):
        return f"{int(value)}n"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "-0" if value == 0 and math.copysign(1, value) < 0 else number_to_string(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, JSDate):
        return "Invalid Date"
    if isinstance(value, JSSymbol):
        return f"Symbol({value.key})" if not value.well_known else f"Symbol(Symbol.{value.key})"
    if depth > 2:
        return "[Array]" if isinstance(value, list) else "[Object]"
    if isinstance(value, list):
        items = [inspect(x, depth + 1) for x in value[:8]]
        if len(value) > 8:
            items.append(f"... {len(value) - 8} more items")
        return "[ " + ", ".join(items) + " ]" if items else "[]"
    if isinstance(value, (set, JSSet)):
        items = [inspect(x, depth + 1) for x in list(value)[:8]]
        return f"Set({len(value)}) {{ " + ", ".join(items) + " }" if items else f"Set({len(value)}) {{}}"
    if isinstance(value, JSMap):
        items = [f"{inspect(k, depth + 1)} => {inspect(v, depth + 1)}" for k, v in list(value)[:8]]
        return f"Map({len(value)}) {{ " + ", ".join(items) + " }" if items else f"Map({len(value)}) {{}}"
    if isinstance(value, dict):
        items = [f"{_key(k)}: {inspect(v, depth + 1)}" for k, v in value.items()]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, JSRegExp):
        return f"/{value.source}/{value.flags}"
    if isinstance(value, JSError):
        return f"{value.name}: {value.message}"
    return repr(value)


def _key(k: Any) -> str:
    if isinstance(k, str) and re.fullmatch(r"[A-Za-z_$][\w$]*", k):
        return k
    return inspect(k) if isinstance(k, str) else f"[{inspect(k)}]"


def short_text(value: Any, width: int = 60) -> str:
    text = inspect(value)
    return text[: width - 1] + "…" if len(text) > width else text


def to_json(value: Any, kinds: dict[int, str], seen: set[int] | None = None) -> Any:
    """Infos as JSON for `show --json` (JSON values as they are; others as readable stand-ins)."""
    seen = seen or set()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, JSBigInt):
        return value if (isinstance(value, int) or math.isfinite(value)) else number_to_string(value)
    if isinstance(value, list):
        return [to_json(x, kinds, seen) for x in value]
    if isinstance(value, dict) and kinds.get(id(value)) != "Map":
        return {str(k): to_json(v, kinds, seen) for k, v in value.items()}
    return inspect(value)


def _read_with_kinds(entry: str, root: str) -> tuple[dict, dict[int, str]]:
    text = decode(read_confined(entry, root), entry)
    check_complete(text, entry)
    base = os.path.dirname(entry)

    def arrays(p: PendingArrays) -> dict:
        return load_arrays(base, root, p.location, p.format, p.names, True)

    reader = Reader(text, entry, arrays)
    return reader.read(), reader.kinds


def show(path: str, as_json: bool, out: Any, err: Any) -> int:
    full = os.path.abspath(path)
    if not os.path.exists(full):
        raise NotFoundError(f"no archive or DataSet at {full}: the path does not exist", file=full)
    if os.path.isdir(full) and os.path.isfile(os.path.join(full, MARKER_FILE)):
        return show_dataset(full, as_json, out, err)
    return show_archive(full, as_json, out)


def show_archive(full: str, as_json: bool, out: Any) -> int:
    if os.path.isdir(full) and not (os.path.isfile(os.path.join(full, "package.json")) and os.path.isfile(os.path.join(full, "index.mjs"))):
        raise ArchiveError(
            f"{full} is a directory but neither a DataSet (no {MARKER_FILE}) nor an archive package "
            "(no package.json and index.mjs); pass a DataSet, a package directory or an entry module",
            file=full,
        )
    if not os.path.isdir(full) and not full.endswith((".mjs", ".js")):
        raise ArchiveError(f"{full} is not an archive module (expected a .mjs file, a package directory or a DataSet)", file=full)
    entry, root = entry_module(full)
    home = os.path.dirname(entry)
    package = os.path.basename(entry) == "index.mjs" and os.path.isfile(os.path.join(home, "package.json"))
    exports, kinds = _read_with_kinds(entry, root)
    text = read_confined(entry, root).decode("utf-8", errors="replace")
    m = _DATA_LOCATION.search(text)
    data_format = m.group(2) if m else None
    if package:
        files = files_at(home)
    else:
        name = os.path.basename(entry)[: -len(os.path.splitext(entry)[1])]
        files = files_at(entry) + files_at(os.path.join(home, f"{name}.d.mts"))
        if m:
            files += files_at(os.path.join(home, m.group(1)))
    names = list(exports)
    default = None
    if "default" in exports:
        default = next((n for n in names if n != "default" and exports[n] is exports["default"]), None)
    shown_names = [n for n in names if not (n == "default" and default is not None)]
    items = [dict(name=n, **summarize(exports[n], kinds)) for n in shown_names]
    nested = [a for n in shown_names for a in nested_arrays(exports[n], n, kinds)]
    total = sum(b for _, b in files)
    if as_json:
        shown = {
            "type": "archive",
            "entry": entry,
            "layout": "package" if package else "module",
            "dataFormat": data_format,
            "defaultExport": default,
            "bytes": total,
            "files": [{"path": os.path.relpath(p, home), "bytes": b} for p, b in files],
            "items": items,
            "arrays": nested,
        }
        out.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
        return 0
    arrays = f", external arrays: {data_format}" if data_format else ""
    out.write(f"archive {entry} ({'package' if package else 'module'} layout{arrays}, {len(files)} files, {format_bytes(total)})\n")
    rows = []
    for i in items:  # each export, then the arrays nested in it
        rows.append([i["name"] + (" (default)" if i["name"] == default else ""), summary_text(i)])
        rows.extend([a["path"], summary_text(a)] for a in nested if a["path"].startswith(i["name"]) and a["path"][len(i["name"]) : len(i["name"]) + 1] in (".", "["))
    _table(out, rows)
    return 0


def _item_files(ds: str, name: str) -> list[tuple[str, int]]:
    files = [f"{name}.mjs", f"{name}.d.mts", f"{name}_arrays", f"{name}_arrays.npz", f"{name}_arrays.h5"]
    try:
        with open(os.path.join(ds, f"{name}.mjs"), encoding="utf-8", errors="replace") as f:
            m = _DATA_LOCATION.search(f.read())
        if m and ".." not in m.group(1) and m.group(1) not in files:
            files.append(m.group(1))
    except OSError:
        pass
    out = []
    for f in files:
        out.extend(files_at(os.path.join(ds, f)))
    return out


def show_dataset(full: str, as_json: bool, out: Any, err: Any) -> int:
    ds = DataSet(full)
    root = real_root(full)
    items = []
    infos = []
    names = ds.keys()
    for name in names:
        size = sum(b for _, b in _item_files(full, name))
        info: Any = None
        error = None
        kinds: dict[int, str] = {}
        try:
            info = ds.info(name)
            journal = ds._journal()
            entry = journal.entries.get(name)
            module = entry[1] if isinstance(entry, tuple) else None
            exports, kinds = _read_with_kinds(os.path.join(full, module or f"{name}.mjs"), root)
            summary = summarize(exports.get("default"), kinds)
        except ArchiveError as e:
            summary = {"kind": "unreadable"}
            error = str(e)
        infos.append(info)
        item = dict(name=name, **summary, bytes=size, info=to_json(info, kinds))
        if error:
            item["error"] = error
        items.append(item)
    total = sum(b for _, b in files_at(full))
    broken = [i for i in items if "error" in i]
    for i in broken:
        err.write(f"persist show: item {i['name']}: {i['error']}\n")
    if as_json:
        out.write(json.dumps({"type": "dataset", "path": full, "bytes": total, "count": len(items), "items": items}, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(f"DataSet {full} ({len(items)} items, {format_bytes(total)})\n")
        rows = [[i["name"], summary_text(i), format_bytes(i["bytes"]), f"info: {short_text(infos[n])}"] for n, i in enumerate(items)]
        _table(out, rows)
    return 1 if broken else 0


def _table(out: Any, rows: list[list[str]]) -> None:
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    for row in rows:
        cells = [cell if i == len(row) - 1 else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        out.write("  " + "  ".join(cells) + "\n")


USAGE = """usage: python3 -m persist_archive show PATH [--json]

Lists what an archive (package folder or entry module) or a DataSet holds: names, kinds,
dtypes and shapes of arrays, sizes and infos. Reads safely: nothing in the files is executed.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        (sys.stdout if args else sys.stderr).write(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command != "show":
        sys.stderr.write(f"python3 -m persist_archive: unknown command {command!r}\n{USAGE}")
        return 2
    if "--help" in rest or "-h" in rest:
        sys.stdout.write(USAGE)
        return 0
    as_json = "--json" in rest
    paths = [a for a in rest if a != "--json"]
    if len(paths) != 1 or any(p.startswith("--") for p in paths):
        sys.stderr.write(USAGE)
        return 2
    try:
        return show(paths[0], as_json, sys.stdout, sys.stderr)
    except ArchiveError as error:
        sys.stderr.write(f"persist show: {error}\n")
        return 1
