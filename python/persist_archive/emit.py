"""Python values → archive-language module text that Node imports natively and load() reads.

Values referenced more than once (and values a cycle must patch) are bound once by a `const`
statement and referred to by name; a reference back to a value still being written becomes
`undefined` plus a patch statement after that value's binding (`_g0.self = _g0;`,
`_g1.set(k, v);`), exactly the forms the TypeScript emitter writes. Statements are produced in
post-order, so every name is bound before it is used, and a value nested deeper than
MAX_NESTING levels is written as its own statement so no statement nests deeper than V8 reads.
"""

from __future__ import annotations

import math
import re
import sys
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from .arrays import STORAGE, check_writable, descr_for_ctor, js_descr
from .errors import InvalidNameError, UnsupportedValueError
from .jsnum import number_literal, string_literal
from .reader import ERROR_NAMES, GLOBAL_ROOTS, RESERVED, RUNTIME_SPECIFIER, UNBINDABLE
from .values import (
    HOLE,
    UNDEFINED,
    Instance,
    JSBoxed,
    JSDataView,
    JSBigInt,
    JSDate,
    JSError,
    JSFunction,
    JSMap,
    JSRegExp,
    JSSet,
    JSSymbol,
)

HEADER = "// persist-archive archive, format 2. A plain ES module: import it, or load() it safely."
#: The last line of every module (format 2): without it a reader knows the file is truncated.
END_MARKER = "// persist-archive: end of archive"
MAX_NESTING = 400
SAFE_INT = 2**53
_IDENT = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
_INDEX_KEY = re.compile(r"0|[1-9]\d{0,14}")
_NAME = re.compile(r"[A-Za-z$][\w$]*", re.ASCII)


def check_name(name: Any, where: str = "save()") -> None:
    """Export names: JS identifiers, not reserved words, not starting with "_". Globals the archive
    language reads (`Map`, `JSON`) and names `const` cannot bind (`eval`, `NaN`) are fine: they are
    bound privately and exported by name (`const _Map = …; export { _Map as Map };`), as in Node."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in RESERVED:
        why = "it starts with _ (reserved for archive internals)" if isinstance(name, str) and name.startswith("_") else (
            "it is a reserved word" if isinstance(name, str) and name in RESERVED else "it is not an ASCII JavaScript identifier"
        )
        raise InvalidNameError(f"{where}: {name!r} cannot name an archive export: {why}; use e.g. run1, params", value_path=str(name))


def _is_container(v: Any) -> bool:
    return not (v is None or v is UNDEFINED or v is HOLE or isinstance(v, (bool, int, float, str, np.generic, JSSymbol, JSFunction)))


def _prop_key(key: str) -> str:
    if key == "__proto__":
        return '["__proto__"]'
    if _IDENT.fullmatch(key) or _INDEX_KEY.fullmatch(key):
        return key
    return string_literal(key)


def _member(target: str, key: str) -> str:
    if _IDENT.fullmatch(key) and key != "__proto__":
        return f"{target}.{key}"
    return f"{target}[{string_literal(key)}]"


class _Placeholder:
    """A reference back to a value still being written (closed later by a patch)."""

    __slots__ = ("target",)

    def __init__(self, target: int) -> None:
        self.target = target


class Emitter:
    def __init__(self, roots: list[tuple[str, Any]], array_threshold: float, location: str, data_format: str = "npy") -> None:
        self.roots = roots
        self.threshold = array_threshold
        self.location = location
        self.format = data_format
        self.refs: dict[int, int] = {}
        self.keep: list[Any] = []
        self.names: dict[int, str] = {}  # id -> bound name
        self.in_progress: set[int] = set()
        self.waiting: dict[int, list[str]] = {}
        self.statements: list[str] = []
        self.imports: dict[str, dict[str, str]] = {}
        self.used = {name for name, _ in roots}
        self.next_shared = 0
        self.externals: list[tuple[str, np.ndarray]] = []
        self.arrays_binding: str | None = None
        self.export_of: dict[int, str] = {}
        # Exports that would shadow a global the module reads, or that `const` cannot bind.
        self.local_of = {name: self.fresh(f"_{name}") for name, _ in roots if name in GLOBAL_ROOTS or name in UNBINDABLE}
        self.tree = False  # info expressions: everything inline, no bindings

    # ---- pass 1: reference counts --------------------------------------------------------------

    def count(self) -> None:
        stack = [v for _, v in self.roots]
        refs = self.refs
        while stack:
            v = stack.pop()
            if not _is_container(v):
                continue
            key = id(v)
            seen = key in refs
            refs[key] = refs.get(key, 0) + 1
            if seen:
                continue
            self.keep.append(v)
            stack.extend(_children(v))

    # ---- names ---------------------------------------------------------------------------------

    def fresh(self, base: str) -> str:
        name = base
        i = 1
        while name in self.used:
            name = f"{base}_{i}"
            i += 1
        self.used.add(name)
        return name

    def import_name(self, module: str, export: str) -> str:
        names = self.imports.setdefault(module, {})
        if export not in names:
            names[export] = self.fresh(f"_{export}")
        return names[export]

    # ---- pass 2: text ----------------------------------------------------------------------------

    def module(self, single_item: bool = False) -> str:
        self.count()
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            for name, value in self.roots:
                self.root(name, value)
        finally:
            sys.setrecursionlimit(old)
        head = [HEADER]
        load_line = None
        if self.externals:
            names = ", ".join(string_literal(n) for n, _ in self.externals)
            loader = self.import_name(RUNTIME_SPECIFIER, "loadArrays")
            load_line = (
                f"const {self.arrays_binding} = await {loader}(import.meta.url, {string_literal(self.location)}, "
                f"{string_literal(self.format)}, [{names}]);"
            )
        for module, names in self.imports.items():
            specs = ", ".join(e if e == local else f"{e} as {local}" for e, local in names.items())
            head.append(f"import {{ {specs} }} from {string_literal(module)};")
        if load_line:
            head.append(load_line)
        body = render_statements(self.statements)
        if single_item and len(self.roots) == 1:
            body.append(f"export default {self.local_of.get(self.roots[0][0], self.roots[0][0])};")
        return "\n".join(head) + "\n\n" + "\n".join(body) + "\n" + END_MARKER + "\n"

    @property
    def uses_runtime(self) -> bool:
        return RUNTIME_SPECIFIER in self.imports

    def root(self, name: str, value: Any) -> None:
        if not _is_container(value):
            self.export(name, self.primitive(value, name))
            return
        key = id(value)
        if key in self.names:
            self.export(name, self.names[key])
            return
        self.export_of[key] = name
        out = self.bound(value, name, name)
        if isinstance(out, _Placeholder):  # cannot happen at the top
            raise UnsupportedValueError(f"{name}: internal cycle error", value_path=name)

    def export(self, name: str, text: str) -> str:
        """`export const name = text;`, or through its private binding; returns the binding."""
        local = self.local_of.get(name)
        if local is None:
            self.statements.append(f"export const {name} = {text};")
            return name
        self.statements.append(f"const {local} = {text};")
        self.statements.append(f"export {{ {local} as {name} }};")
        return local

    def bound(self, value: Any, path: str, export: str | None = None) -> str:
        """Writes `value` as its own statement and returns its name."""
        key = id(value)
        self.in_progress.add(key)
        text, patches = self.literal(value, path, 0)
        name = export if export is not None else self.fresh(f"_g{self.next_shared}")
        if export is None:
            self.next_shared += 1
            self.statements.append(f"const {name} = {text};")
        else:
            name = self.export(export, text)
        self.in_progress.discard(key)
        self.names[key] = name
        for holder_patch in patches:
            holder_patch(name)
        for stmt in self.waiting.pop(key, []):
            self.statements.append(stmt)
        return name

    def value(self, v: Any, path: str, level: int) -> str | _Placeholder:
        if not _is_container(v):
            return self.primitive(v, path)
        key = id(v)
        name = self.names.get(key)
        if name is not None:
            return name
        if self.tree:
            if key in self.in_progress or level > 2000:
                raise UnsupportedValueError(f"{path}: a cycle (or nesting deeper than 2000 levels) cannot be written here", value_path=path)
            self.in_progress.add(key)
            text, _ = self.literal(v, path, level)
            self.in_progress.discard(key)
            return text
        if key in self.in_progress:
            return _Placeholder(key)
        if self.refs.get(key, 0) > 1 or level >= MAX_NESTING:
            return self.bound(v, path)
        self.in_progress.add(key)
        text, patches = self.literal(v, path, level)
        self.in_progress.discard(key)
        if patches:  # only values with a name can be patched: give it one now
            name = self.fresh(f"_g{self.next_shared}")
            self.next_shared += 1
            self.statements.append(f"const {name} = {text};")
            self.names[key] = name
            for p in patches:
                p(name)
            return name
        return text

    def wait(self, target: int, stmt_for: Any) -> Any:
        """A patch closing a cycle: emitted once both the holder and `target` are bound."""

        def apply(holder_name: str) -> None:
            if target in self.names:
                self.statements.append(stmt_for(holder_name))
            else:
                self.waiting.setdefault(target, []).append(_Deferred(lambda: stmt_for(holder_name)))

        return apply

    def ref_text(self, target: int) -> str:
        return self.names[target]

    def literal(self, v: Any, path: str, level: int) -> tuple[str, list]:
        patches: list = []
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            parts = []
            for k, x in v.items():
                out = self.value(x, f"{path}.{k}" if _IDENT.fullmatch(k) else f"{path}[{k!r}]", level + 1)
                if isinstance(out, _Placeholder):
                    t = out.target
                    patches.append(self.wait(t, lambda h, k=k, t=t: f"{_member(h, k)} = {self.ref_text(t)};"))
                    out = "undefined"
                parts.append(f"{_prop_key(k)}: {out}")
            return ("{ " + ", ".join(parts) + " }") if parts else "{}", patches
        if isinstance(v, (dict, JSMap)):
            items = list(v.items()) if isinstance(v, dict) else list(v)
            parts = []
            rest = None
            for i, (k, x) in enumerate(items):
                ko = self.value(k, f"{path}.<key {i}>", level + 2)
                xo = self.value(x, f"{path}.get({k!r})", level + 2)
                if isinstance(ko, _Placeholder) or isinstance(xo, _Placeholder):
                    rest = items[i:]
                    break
                parts.append(f"[{ko}, {xo}]")
            if rest is not None:
                patches.append(self.rest_patch(rest, path, level, "set"))
            return f"new Map([{', '.join(parts)}])", patches
        if isinstance(v, (list, tuple)) and not isinstance(v, JSSet):
            parts = []
            for i, x in enumerate(v):
                if x is HOLE:
                    parts.append("")
                    continue
                out = self.value(x, f"{path}[{i}]", level + 1)
                if isinstance(out, _Placeholder):
                    t = out.target
                    patches.append(self.wait(t, lambda h, i=i, t=t: f"{h}[{i}] = {self.ref_text(t)};"))
                    out = "undefined"
                parts.append(out)
            text = "[" + ", ".join(parts) + ("," if parts and parts[-1] == "" else "") + "]"
            return text, patches
        if isinstance(v, (set, frozenset, JSSet)):
            items = list(v)
            if isinstance(v, (set, frozenset)):
                items = _stable(items)
            parts = []
            rest = None
            for i, x in enumerate(items):
                out = self.value(x, f"{path}.<element {i}>", level + 2)
                if isinstance(out, _Placeholder):
                    rest = items[i:]
                    break
                parts.append(out)
            if rest is not None:
                patches.append(self.rest_patch(rest, path, level, "add"))
            return f"new Set([{', '.join(parts)}])", patches
        if isinstance(v, np.ndarray):
            return self.ndarray(v, path), patches
        if isinstance(v, (bytes, bytearray, memoryview)):
            data = bytes(v)
            if len(data) > self.threshold:
                return f"new Uint8Array({self.external(np.frombuffer(data, np.uint8).copy())}.data).buffer", patches
            return f"new Uint8Array([{', '.join(str(b) for b in data)}]).buffer", patches
        if isinstance(v, datetime):
            dt = v if v.tzinfo is not None else v.astimezone()
            dt = dt.astimezone(timezone.utc)
            return f'new Date("{_iso(dt)}")', patches
        if isinstance(v, date):
            return f'new Date("{_iso(datetime(v.year, v.month, v.day, tzinfo=timezone.utc))}")', patches
        if isinstance(v, JSDate):
            return ("new Date(NaN)" if v.time != v.time else f"new Date({number_literal(float(v.time))})"), patches
        if isinstance(v, JSRegExp):
            text = f"new RegExp({string_literal(v.source)}, {string_literal(v.flags)})"
            if v.last_index:
                text = f"Object.assign({text}, {{ lastIndex: {self.arg(v.last_index, path, level)} }})"
            return text, patches
        if isinstance(v, JSError):
            return self.error(v, path, level), patches
        if isinstance(v, JSBoxed):
            inner = v.value
            if isinstance(inner, bool):
                return f"new Boolean({'true' if inner else 'false'})", patches
            if isinstance(inner, str):
                return f"new String({string_literal(inner)})", patches
            if isinstance(inner, JSBigInt) or (isinstance(inner, int) and abs(inner) > SAFE_INT):
                return f"Object({int(inner)}n)", patches
            if isinstance(inner, (int, float)):
                return f"new Number({self.primitive(inner, path)})", patches
            if isinstance(inner, JSSymbol):
                return f"Object({self.primitive(inner, path)})", patches
            raise UnsupportedValueError(f"{path}: JSBoxed holds {type(inner).__name__}, not a primitive", value_path=path)
        if isinstance(v, JSDataView):
            buf = self.arg(v.buffer, path + ".buffer", level)
            return f"new DataView({buf}, {v.byte_offset}, {v.byte_length})", patches
        if isinstance(v, Instance):
            local = self.import_name(v.module, v.name)
            args = ", ".join(self.arg(a, f"{path}.args[{i}]", level) for i, a in enumerate(v.args))
            callee = f"{local}.{v.factory}" if v.factory else f"new {local}"
            return f"{callee}({args})", patches
        raise UnsupportedValueError(
            f"{path}: a {type(v).__module__}.{type(v).__qualname__} cannot be archived; use dicts, lists, "
            "numbers, strings, numpy arrays, datetimes, sets (see README \"From Python\")",
            value_path=path,
        )

    def arg(self, v: Any, path: str, level: int) -> str:
        out = self.value(v, path, level + 1)
        if isinstance(out, _Placeholder):
            raise UnsupportedValueError(
                f"{path}: a cycle runs through a constructor argument, which the archive language cannot close; "
                "break the cycle through a dict or list",
                value_path=path,
            )
        return out

    def rest_patch(self, rest: list, path: str, level: int, method: str) -> Any:
        """Entries of a Map/Set from the first one that refers back to a value being written: written
        as `.set(k, v)` / `.add(v)` patches once everything they name is bound."""

        def apply(holder_name: str) -> None:
            stmts = []
            targets = []
            for entry in rest:
                parts = entry if method == "set" else (entry,)
                texts = []
                for x in parts:
                    if _is_container(x) and id(x) in self.in_progress and id(x) not in self.names:
                        targets.append(id(x))
                        texts.append(lambda key=id(x): self.names[key])
                    else:
                        out = self.arg(x, path, 0)
                        texts.append(lambda out=out: out)
                stmts.append((texts,))
            def render() -> str:
                lines = []
                for (texts,) in stmts:
                    lines.append(f"{holder_name}.{method}({', '.join(t() for t in texts)});")
                return "\n".join(lines)

            pending = [t for t in targets if t not in self.names]
            if not pending:
                self.statements.append(render())
                return
            # Wait for the target bound last: in-progress values are bound innermost first.
            last = pending[0]
            self.waiting.setdefault(last, []).append(_Deferred(render))

        return apply

    def error(self, v: JSError, path: str, level: int) -> str:
        name = v.name if v.name in ERROR_NAMES else "Error"
        msg = string_literal(v.message if isinstance(v.message, str) else str(v.message))
        opts = ""
        if v.cause is not UNDEFINED:
            opts = f", {{ cause: {self.arg(v.cause, path + '.cause', level)} }}"
        if name == "AggregateError":
            errors = "[" + ", ".join(self.arg(e, f"{path}.errors[{i}]", level) for i, e in enumerate(v.errors or [])) + "]"
            text = f"new AggregateError({errors}, {msg}{opts})"
        else:
            text = f"new {name}({msg}{opts})"
        props = {k: x for k, x in v.props.items() if k not in ("message", "cause", "stack")}
        if v.name not in ERROR_NAMES and v.name != "Error":
            props = {"name": v.name, **props}
        if props:
            parts = ", ".join(f"{_prop_key(k)}: {self.arg(x, f'{path}.{k}', level)}" for k, x in props.items())
            text = f"Object.assign({text}, {{ {parts} }})"
        return text

    def primitive(self, v: Any, path: str) -> str:
        if v is None:
            return "null"
        if v is UNDEFINED or v is HOLE:
            return "undefined"
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, JSBigInt):
            return f"{int(v)}n"
        if isinstance(v, (int, np.integer)):
            v = int(v)
            return number_literal(float(v)) if abs(v) <= SAFE_INT else f"{v}n"
        if isinstance(v, (float, np.floating)):
            return number_literal(float(v))
        if isinstance(v, str):
            return string_literal(v)
        if isinstance(v, JSSymbol):
            return f"Symbol.{v.key}" if v.well_known else f"Symbol.for({string_literal(v.key)})"
        if isinstance(v, JSFunction):
            if v.module is None:
                if v.name.split(".")[0] not in GLOBAL_ROOTS:
                    raise UnsupportedValueError(f"{path}: {v.name} is not a global function", value_path=path)
                return v.name
            return self.import_name(v.module, v.name)
        if isinstance(v, np.generic):  # complex scalars and others
            return self.ndarray(np.asarray(v), path)
        raise UnsupportedValueError(f"{path}: cannot archive {type(v).__name__}", value_path=path)

    def external(self, arr: np.ndarray) -> str:
        if self.arrays_binding is None:
            self.arrays_binding = self.fresh("_arrays")
        name = f"array_{len(self.externals)}"
        self.externals.append((name, arr))
        return f"{self.arrays_binding}.{name}"

    def ndarray(self, arr: np.ndarray, path: str) -> str:
        arr = check_writable(arr, path)
        if arr.size > self.threshold:
            return self.external(arr)
        descr = js_descr(arr.dtype)
        kind = descr[1:]
        ctor = STORAGE[kind]
        order = "F" if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"
        flat = arr.reshape(-1, order=order)
        if kind == "b1":
            items = ["1" if x else "0" for x in flat.tolist()]
        elif kind == "f2":
            items = [str(x) for x in flat.view(np.uint16).tolist()]
        elif kind in ("c8", "c16"):
            pairs = flat.view(np.float32 if kind == "c8" else np.float64).tolist()
            items = [number_literal(x) for x in pairs]
        elif kind in ("i8", "u8"):
            items = [f"{x}n" for x in flat.tolist()]
        elif kind[0] == "f":
            items = [number_literal(float(x)) for x in flat.tolist()]
        else:
            items = [str(x) for x in flat.tolist()]
        nd = self.import_name(RUNTIME_SPECIFIER, "NDArray")
        opts = []
        if order == "F":
            opts.append('order: "F"')
        if descr != descr_for_ctor(ctor):
            opts.append(f"dtype: {string_literal(descr)}")
        shape = "[" + ", ".join(str(d) for d in arr.shape) + "]"
        tail = f", {{ {', '.join(opts)} }}" if opts else ""
        return f"new {nd}(new {ctor}([{', '.join(items)}]), {shape}{tail})"


class _Deferred(str):
    """A statement rendered only when it is written out (its names are bound by then)."""

    def __new__(cls, render: Any) -> "_Deferred":
        obj = str.__new__(cls, "")
        obj.render = render  # type: ignore[attr-defined]
        return obj


def _children(v: Any) -> list:
    if isinstance(v, dict):
        return list(v.keys()) + list(v.values())
    if isinstance(v, JSMap):
        return [x for pair in v for x in pair]
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    if isinstance(v, JSError):
        out = [v.cause] + list(v.props.values())
        if v.errors:
            out.append(v.errors)
        return out
    if isinstance(v, Instance):
        return list(v.args)
    if isinstance(v, JSDataView):
        return [v.buffer]
    if isinstance(v, JSBoxed):
        return []
    return []


def _stable(items: list) -> list:
    try:
        return sorted(items, key=lambda x: (type(x).__name__, x))
    except TypeError:
        return items


def _iso(dt: datetime) -> str:
    y = dt.year
    year = f"{y:04d}" if 0 <= y <= 9999 else f"{'+' if y > 0 else '-'}{abs(y):06d}"
    return f"{year}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"


def render_statements(statements: list) -> list[str]:
    return [s.render() if isinstance(s, _Deferred) else s for s in statements]


def finite_check(x: float) -> bool:
    return math.isfinite(x)
