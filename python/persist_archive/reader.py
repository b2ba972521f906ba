"""A reader of the archive language (docs/archive-language.md) that never runs code.

Hand-written on purpose, mirroring src/load of the TypeScript package: Python has no parser for
this subset of JavaScript, and `eval`/`exec` or a JS engine would run what the file says. The
reader is an evaluating recursive-descent parser: it builds Python values while it reads and keeps
no syntax tree. The hot paths (object keys with a plain value, numbers, strings without escapes)
are single compiled regular expressions, so most of the work happens in C.

Statement forms (each a small method of `Reader`, dispatched on the first word):
  import { A as _B } from "spec";          const NAME = EXPR;        export const NAME = EXPR;
  const _arrays = await _loadArrays(import.meta.url, "./loc", "npy", ["array_0"]);
  ID.key = EXPR;  ID["k"] = EXPR;  ID[0] = EXPR;  ID.set(K, V);  ID.add(V);  delete ID["k"];
  export default ID;                       export { _a as Map, b as default };
"""

from __future__ import annotations

import math
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import numpy as np

from .errors import ArchiveError, FormatError, UnsafeArchiveError
from .jsnum import join_surrogates, number_to_string
from .values import (
    HOLE,
    UNDEFINED,
    Instance,
    JSBoxed,
    JSDataView,
    JSError,
    JSBigInt,
    JSFunction,
    JSMap,
    JSRegExp,
    JSSet,
    JSSymbol,
    factory_for,
)

MAX_DEPTH = 5000
MAX_BIGINT_DIGITS = 1_000_000
RUNTIME_SPECIFIER = "./_persist_runtime.v1.mjs"

# ---------------------------------------------------------------------------------------------
# Lexical pieces (JS whitespace and comments; Python's \s would also take \x1c-\x1f and \x85).

_WS_CHARS = " \t\n\r\v\f\xa0\ufeff\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WS = re.compile(r"(?:[%s]+|//[^\n\r\u2028\u2029]*|/\*(?:[^*]|\*(?!/))*\*/)*" % _WS_CHARS)
_NEWLINE = re.compile("[\n\r\u2028\u2029]")
_NAME = re.compile(r"(?:[^\W\d]|\$)[\w$\u200c\u200d]*")
_SIMPLE_STR = {'"': re.compile(r'"([^"\\\n\r]*)"'), "'": re.compile(r"'([^'\\\n\r]*)'")}
# Decimal literal (JS syntax): digits with optional fraction and exponent, or a leading dot.
_DECIMAL = re.compile(r"(?:(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?")
_RADIX = re.compile(r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+")
_AFTER_NUMBER = re.compile(r"[\w$.\\]")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# One object entry with a plain value: key, then a string, integer, decimal or keyword value.
_ENTRY = re.compile(
    r'(?:([A-Za-z_$][\w$]*)|"([^"\\\n\r]*)")[ \t]*:[ \t]*'
    r'(?:"([^"\\\n\r]*)"|(0|-?[1-9][0-9]*)(?![\w$.])|'
    r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![\w$.])|"
    r"(true|false|null)(?![\w$]))[ \t\n\r]*(,?)[ \t\n\r]*",
    re.ASCII,
)
# A run of plain array elements: numbers or strings without escapes, each followed by a comma.
_ELEMENT = re.compile(
    r'(?:"([^"\\\n\r]*)"|(0|-?[1-9][0-9]*)(?![\w$.])|'
    r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![\w$.])|"
    r"(true|false|null)(?![\w$]))[ \t\n\r]*(,?)[ \t\n\r]*",
    re.ASCII,
)
_KEYWORDS = {"true": True, "false": False, "null": None}
_PATCH_FAST = re.compile(r'\["([^"\\\n\r]*)"\][ \t]*=[ \t]*(?![=>])')

RESERVED = frozenset(
    (
        "break case catch class const continue debugger default delete do else enum export extends "
        "false finally for function if import in instanceof new null return super switch this throw "
        "true try typeof var void while with yield let static implements interface package private "
        "protected public await"
    ).split()
)

ERROR_NAMES = frozenset(
    "Error TypeError RangeError SyntaxError ReferenceError EvalError URIError AggregateError".split()
)
TYPED_ARRAYS: dict[str, np.dtype] = {
    "Int8Array": np.dtype("i1"),
    "Uint8Array": np.dtype("u1"),
    "Uint8ClampedArray": np.dtype("u1"),
    "Int16Array": np.dtype("<i2"),
    "Uint16Array": np.dtype("<u2"),
    "Int32Array": np.dtype("<i4"),
    "Uint32Array": np.dtype("<u4"),
    "Float32Array": np.dtype("<f4"),
    "Float64Array": np.dtype("<f8"),
    "BigInt64Array": np.dtype("<i8"),
    "BigUint64Array": np.dtype("<u8"),
}
CONSTRUCTORS = frozenset(
    ["Map", "Set", "Date", "RegExp", "Number", "String", "Boolean", "ArrayBuffer", "DataView"]
    + list(ERROR_NAMES)
    + list(TYPED_ARRAYS)
)
WELL_KNOWN_SYMBOLS = frozenset(
    "asyncIterator hasInstance isConcatSpreadable iterator match matchAll replace search species "
    "split toPrimitive toStringTag unscopables asyncDispose dispose".split()
)
# Global roots a path may start with (`Math.sin`, `Float64Array`, `JSON.parse`). Nothing they name
# is ever called by this reader; as values they become JSFunction records.
GLOBAL_NAMESPACES = frozenset("Math JSON Reflect Atomics Intl Object Symbol Number String Array Date BigInt Promise ArrayBuffer".split())
GLOBAL_FUNCTIONS = frozenset(
    (
        "Object Function Array Number parseFloat parseInt Boolean String Symbol Date Promise RegExp "
        "Error AggregateError EvalError RangeError ReferenceError SyntaxError TypeError URIError "
        "ArrayBuffer Uint8Array Int8Array Uint16Array Int16Array Uint32Array Int32Array Float32Array "
        "Float64Array Uint8ClampedArray BigUint64Array BigInt64Array DataView Map BigInt Set WeakMap "
        "WeakSet Proxy decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape isFinite "
        "isNaN SharedArrayBuffer WeakRef FinalizationRegistry"
    ).split()
)
GLOBAL_ROOTS = GLOBAL_NAMESPACES | GLOBAL_FUNCTIONS
FORBIDDEN_PATHS = frozenset(["eval", "Function", "globalThis"])
# Names no binding may take. Globals (`Map`, `JSON`) may be bound, as in JS: a module that binds
# `Map` means its own value by it from then on (format 2 writes `export { _Map as Map }` instead).
UNBINDABLE = frozenset(["undefined", "NaN", "Infinity", "eval", "arguments"])

_ARRAY_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_BINDING = 0
_IMPORT = 1
_ARRAYS = 2


class _Import:
    """An imported name: a class, factory holder or function from `module`."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name


class _NDArrayClass:
    """The runtime's NDArray class (`import { NDArray as _NDArray } from "./_persist_runtime…"`)."""


class _LoadArrays:
    """The runtime's loadArrays function."""


_NDARRAY = _NDArrayClass()
_LOAD_ARRAYS = _LoadArrays()


class Budget:
    """Bytes of allocation and copying beyond the literals (same rule as src/load/builtins.ts):
    1 MiB plus 16 bytes per character of text, plus twice the bytes of loaded external arrays."""

    __slots__ = ("left",)

    def __init__(self, text_length: int) -> None:
        self.left = (1 << 20) + 16 * text_length

    def grant(self, n: int) -> None:
        self.left += n

    def charge(self, n: int) -> bool:
        if not n <= self.left:
            return False
        self.left -= n
        return True


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` (only computed for messages)."""
    offset = min(offset, len(text))
    head = text[:offset]
    line = 1 + head.count("\n") + head.count("\u2028") + head.count("\u2029") + head.count("\r") - head.count("\r\n")
    start = max(head.rfind("\n"), head.rfind("\r"), head.rfind("\u2028"), head.rfind("\u2029")) + 1
    return line, offset - start + 1


class PendingArrays:
    """A `const _arrays = await _loadArrays(...)` statement; the caller reads the files."""

    def __init__(self, name: str, exported: bool, at: int, location: str, fmt: str, names: list[str]):
        self.name = name
        self.exported = exported
        self.at = at
        self.location = location
        self.format = fmt
        self.names = names


ArraysLoader = Callable[[PendingArrays], dict]


class Reader:
    """Reads one module of the archive language. `read()` returns its exports as a dict."""

    def __init__(self, text: str, file: str, load_arrays: ArraysLoader | None = None) -> None:
        self.text = text
        self.file = file
        self.load_arrays = load_arrays
        self.bindings: dict[str, tuple[int, Any, bool]] = {}  # name -> (kind, value, patchable)
        self.exports: dict[str, Any] = {}
        self.budget = Budget(len(text))
        self.depth = 0
        # Maps and Sets created as dict/set that later got an unhashable key (see _fix_containers).
        self._replacements: dict[int, Any] = {}
        self._keep: list[Any] = []
        self._maps: set[int] = set()  # ids of Maps read as dicts (only those take `.set`)
        self._ctors: dict[int, str] = {}  # id of each typed array -> its JS class name
        self.kinds = self._ctors  # JS kind of values whose Python type does not say it (show)

    # ---- errors ----------------------------------------------------------------------------

    def fail(self, message: str, at: int) -> UnsafeArchiveError:
        line, column = line_column(self.text, at)
        return UnsafeArchiveError(
            f"{message} at {self.file}:{line}:{column}. The archive language (docs/archive-language.md) "
            "is all this reader accepts; nothing in the file is executed.",
            file=self.file,
            line=line,
            column=column,
        )

    def format_error(self, message: str, at: int) -> FormatError:
        line, column = line_column(self.text, at)
        return FormatError(f"{message} at {self.file}:{line}:{column}", file=self.file, line=line, column=column)

    def found(self, pos: int) -> str:
        if pos >= len(self.text):
            return "end of file"
        m = _NAME.match(self.text, pos)
        end = m.end() if m else pos + 1
        if m and end < len(self.text) and self.text[end] in "(.":
            end += 1
        return "`" + self.text[pos : min(end, pos + 40)] + "`"

    def unexpected(self, pos: int, expected: str | None = None) -> UnsafeArchiveError:
        what = f" (expected {expected})" if expected else ""
        text = self.text
        if pos < len(text):
            c = text[pos]
            if c == "`":
                return self.fail("unexpected `` ` `` (template literals are not allowed)", pos)
            if c == "/" and pos + 1 < len(text) and text[pos + 1] not in "/*":
                return self.fail("unexpected `/` (regular expression literals and division are not allowed)", pos)
            if text.startswith("...", pos):
                return self.fail("unexpected `...` (spread is not allowed)", pos)
            two = text[pos : pos + 2]
            if two in ("=>", "==", "++", "--", "+=", "-=", "**", "&&", "||", "??"):
                return self.fail(f"unexpected `{two}`", pos)
        return self.fail(f"unexpected {self.found(pos)}{what}", pos)

    # ---- small scanning helpers --------------------------------------------------------------

    def ws(self, pos: int) -> int:
        end = _WS.match(self.text, pos).end()
        if self.text.startswith("/*", end):
            raise self.fail("unterminated comment", end)
        return end

    def expect(self, pos: int, ch: str) -> int:
        pos = self.ws(pos)
        if not self.text.startswith(ch, pos):
            raise self.unexpected(pos, f"`{ch}`")
        return pos + len(ch)

    def name_at(self, pos: int) -> tuple[str | None, int]:
        m = _NAME.match(self.text, pos)
        if m is None:
            if pos < len(self.text) and self.text[pos] == "\\":
                raise self.fail("unexpected `\\` (escapes in identifiers are not allowed)", pos)
            return None, pos
        end = m.end()
        if end < len(self.text) and self.text[end] == "\\":
            raise self.fail("unexpected `\\` (escapes in identifiers are not allowed)", end)
        return m.group(), end

    def word_is(self, pos: int, word: str) -> bool:
        name, _ = self.name_at(pos)
        return name == word

    def end_statement(self, pos: int) -> int:
        start = pos
        pos = self.ws(pos)
        if pos < len(self.text) and self.text[pos] == ";":
            return pos + 1
        if pos >= len(self.text) or _NEWLINE.search(self.text, start, pos):
            return pos
        raise self.unexpected(pos, "`;`")

    # ---- statements --------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        self._deep(self._statements)
        if self._replacements:
            self._fix_containers()
        return self.exports

    def read_expression(self) -> Any:
        """Reads the text as exactly one expression (a DataSet info record's `expr`): anything
        after it but whitespace and comments is an error, so that no record reads as more or
        less than one value."""

        def one() -> Any:
            value, pos, _ = self.expression(self.ws(0))
            end = self.ws(pos)
            if end < len(self.text):
                raise self.unexpected(end, "the end of the expression")
            return value

        value = self._deep(one)
        if self._replacements:
            # _fix_containers replaces containers reachable from the exports
            self.exports["value"] = value
            self._fix_containers()
            value = self.exports.pop("value")
        return value

    def _deep(self, read: Callable[[], Any]) -> Any:
        """Runs `read` with room for MAX_DEPTH levels of nesting on Python's stack."""
        old_limit = sys.getrecursionlimit()
        if old_limit < 4 * MAX_DEPTH + 1000:
            sys.setrecursionlimit(4 * MAX_DEPTH + 1000)
        try:
            return read()
        except RecursionError:
            raise self.fail(f"nesting deeper than this Python can read (limit {MAX_DEPTH} levels)", 0) from None
        finally:
            sys.setrecursionlimit(old_limit)

    def _statements(self) -> None:
        text = self.text
        n = len(text)
        pos = 0
        while True:
            pos = self.ws(pos)
            if pos >= n:
                return
            if text[pos] == ";":
                pos += 1
                continue
            word, end = self.name_at(pos)
            if word is None:
                raise self.unexpected(pos, "a statement")
            if word == "export":
                pos = self.export_statement(end)
            elif word == "const":
                pos = self.const_statement(end, False)
            elif word == "import":
                pos = self.import_statement(pos, end)
            elif word == "delete":
                pos = self.delete_statement(end)
            elif word in self.bindings and word not in RESERVED:
                pos = self.patch_statement(pos, word, end)
            else:
                raise self.unexpected(pos, "a statement")

    def export_statement(self, pos: int) -> int:
        pos = self.ws(pos)
        word, end = self.name_at(pos)
        if word == "const":
            return self.const_statement(end, True)
        if word == "default":
            pos = self.ws(end)
            name, end = self.binding_name(pos)
            if name not in self.bindings:
                raise self.fail(f"`{name}` is not bound", pos)
            self.export_value("default", self.bindings[name][1], pos)
            return self.end_statement(end)
        if self.text.startswith("{", pos):
            return self.export_list(pos + 1)
        raise self.unexpected(pos, "`const`, `default` or `{`")

    def export_list(self, pos: int) -> int:
        """`export { _a as Map, b, c as default };` — names bound earlier, exported under others."""
        pairs = []
        while True:
            pos = self.ws(pos)
            if self.text.startswith("}", pos):
                pos += 1
                break
            local, end = self.name_at(pos)
            if local is None:
                raise self.unexpected(pos, "a bound name")
            if local not in self.bindings:
                raise self.fail(f"`{local}` is not bound", pos)
            at = pos
            pos = self.ws(end)
            exported = local
            if self.word_is(pos, "as"):
                pos = self.ws(self.name_at(pos)[1])
                if pos < len(self.text) and self.text[pos] in "\"'":
                    exported, pos = self.string(pos)
                else:
                    exported, end = self.name_at(pos)
                    if exported is None:
                        raise self.unexpected(pos, "an export name")
                    pos = end
            pairs.append((exported, self.bindings[local][1], at))
            pos = self.ws(pos)
            if self.text.startswith(",", pos):
                pos += 1
                continue
            pos = self.expect(pos, "}")
            break
        for exported, value, at in pairs:
            self.export_value(exported, value, at)
        return self.end_statement(pos)

    def binding_name(self, pos: int) -> tuple[str, int]:
        name, end = self.name_at(pos)
        if name is None:
            raise self.unexpected(pos, "a name")
        if name in RESERVED or name in UNBINDABLE:
            raise self.fail(f"`{name}` cannot be bound in an archive", pos)
        return name, end

    def bind(self, name: str, kind: int, value: Any, patchable: bool, at: int) -> None:
        if name in self.bindings:
            raise self.fail(f"`{name}` is bound twice", at)
        self.bindings[name] = (kind, value, patchable)

    def export_value(self, name: str, value: Any, at: int) -> None:
        if name in self.exports:
            raise self.fail(f"`{name}` is exported twice", at)
        if name == "then" and isinstance(value, (JSFunction, _Import)):
            raise self.fail("an export named `then` may not be a function (awaiting the result would call it)", at)
        self.exports[name] = value

    def import_statement(self, at: int, pos: int) -> int:
        text = self.text
        pos = self.ws(pos)
        if text.startswith("(", pos):
            raise self.fail("unexpected `import(` (dynamic import is not allowed)", at)
        if text.startswith(".", pos):
            raise self.fail("unexpected `import.` (`import.meta` is only allowed in loadArrays)", at)
        if not text.startswith("{", pos):
            raise self.unexpected(pos, "`{` (only named imports are allowed)")
        pos += 1
        specs = []
        while True:
            pos = self.ws(pos)
            if text.startswith("}", pos):
                break
            imported, end = self.name_at(pos)
            if imported is None:
                raise self.unexpected(pos, "an imported name")
            spec_at = pos
            pos = self.ws(end)
            local = imported
            if self.word_is(pos, "as"):
                pos = self.ws(self.name_at(pos)[1])
                local, pos = self.binding_name(pos)
            elif imported in RESERVED or imported in UNBINDABLE:
                raise self.fail(f"`{imported}` cannot be bound in an archive", spec_at)
            specs.append((imported, local, spec_at))
            pos = self.ws(pos)
            if not text.startswith(",", pos):
                break
            pos += 1
        pos = self.expect(pos, "}")
        pos = self.ws(pos)
        if not self.word_is(pos, "from"):
            raise self.unexpected(pos, "`from`")
        pos = self.ws(self.name_at(pos)[1])
        if pos >= len(text) or text[pos] not in "\"'":
            raise self.unexpected(pos, "a module specifier string")
        spec_at = pos
        spec, pos = self.string(pos)
        after = self.ws(pos)
        if self.word_is(after, "with") or self.word_is(after, "assert"):
            raise self.unexpected(after, "`;`")
        pos = self.end_statement(pos)
        if spec.startswith("node:") or spec in ("fs", "child_process", "process", "vm"):
            raise self.fail(f'import from "{spec}" is not allowed', spec_at)
        for imported, local, s_at in specs:
            if spec == RUNTIME_SPECIFIER and imported == "NDArray":
                value: Any = _NDARRAY
            elif spec == RUNTIME_SPECIFIER and imported == "loadArrays":
                value = _LOAD_ARRAYS
            elif spec == RUNTIME_SPECIFIER:
                raise self.fail(f'cannot resolve import `{imported}` from "{spec}"', spec_at)
            else:
                value = _Import(spec, imported)
            self.bind(local, _IMPORT, value, False, s_at)
        return pos

    def const_statement(self, pos: int, exported: bool) -> int:
        pos = self.ws(pos)
        at = pos
        name, pos = self.binding_name(pos)
        pos = self.expect(pos, "=")
        pos = self.ws(pos)
        if self.word_is(pos, "await"):
            pending, pos = self.load_arrays_call(name, exported, at, self.name_at(pos)[1])
            pos = self.end_statement(pos)
            if name in self.bindings:
                raise self.fail(f"`{name}` is bound twice", at)
            if self.load_arrays is None:
                raise self.fail("external arrays cannot be loaded here", at)
            arrays = self.load_arrays(pending)
            for arr in arrays.values():
                nbytes = getattr(arr, "nbytes", 0)
                self.budget.grant(2 * int(nbytes))
            self.bind(name, _ARRAYS, arrays, False, at)
            if exported:
                self.export_value(name, arrays, at)
            return pos
        value, pos, created = self.expression(pos)
        if name in self.bindings:
            raise self.fail(f"`{name}` is bound twice", at)
        self.bind(name, _BINDING, value, created, at)
        if exported:
            self.export_value(name, value, at)
        return self.end_statement(pos)

    def load_arrays_call(self, name: str, exported: bool, at: int, pos: int) -> tuple[PendingArrays, int]:
        text = self.text
        pos = self.ws(pos)
        callee, end = self.name_at(pos)
        binding = self.bindings.get(callee) if callee else None
        if binding is None or binding[1] is not _LOAD_ARRAYS:
            raise self.fail("`await` is only allowed before the runtime's loadArrays", pos)
        pos = self.expect(end, "(")
        for word in ("import", ".", "meta", ".", "url"):
            pos = self.ws(pos)
            if word == ".":
                pos = self.expect(pos, ".")
            elif self.word_is(pos, word):
                pos = self.name_at(pos)[1]
            else:
                raise self.unexpected(pos, "`import.meta.url`")
        pos = self.expect(pos, ",")
        pos = self.ws(pos)
        loc_at = pos
        location, pos = self.string_arg(pos)
        if not _inside_location(location):
            raise self.fail(f"array location {location!r} must be a relative path inside the archive folder", loc_at)
        pos = self.expect(pos, ",")
        pos = self.ws(pos)
        fmt_at = pos
        fmt, pos = self.string_arg(pos)
        if fmt not in ("npy", "npz", "hdf5"):
            raise self.fail(f'unknown array format "{fmt}"', fmt_at)
        pos = self.expect(pos, ",")
        pos = self.expect(pos, "[")
        names = []
        while True:
            pos = self.ws(pos)
            if text.startswith("]", pos):
                break
            n_at = pos
            array_name, pos = self.string_arg(pos)
            if not _ARRAY_NAME.fullmatch(array_name):
                raise self.fail(f"bad array name {array_name!r}", n_at)
            names.append(array_name)
            pos = self.ws(pos)
            if not text.startswith(",", pos):
                break
            pos += 1
        pos = self.expect(pos, "]")
        pos = self.ws(pos)
        if text.startswith(",", pos):
            pos += 1
        pos = self.expect(pos, ")")
        return PendingArrays(name, exported, at, location, fmt, names), pos

    def string_arg(self, pos: int) -> tuple[str, int]:
        if pos >= len(self.text) or self.text[pos] not in "\"'":
            raise self.unexpected(pos, "a string")
        return self.string(pos)

    def patch_target(self, name: str, at: int) -> Any:
        kind, value, patchable = self.bindings[name]
        if kind != _BINDING or not patchable:
            raise self.fail(f"`{name}` cannot be patched (only values the archive creates can be)", at)
        return value

    def patch_key(self, pos: int) -> tuple[Any, int]:
        text = self.text
        pos = self.ws(pos)
        if text.startswith(".", pos):
            pos = self.ws(pos + 1)
            key, end = self.name_at(pos)
            if key is None:
                raise self.unexpected(pos, "a property name")
            return key, end
        pos = self.expect(pos, "[")
        pos = self.ws(pos)
        if pos < len(text) and text[pos] in "\"'":
            key, pos = self.string(pos)
        else:
            num, pos = self.number(pos)
            if num is None:
                raise self.unexpected(pos, "a string or number key")
            key = number_to_string(num)
        pos = self.expect(pos, "]")
        return key, pos

    def patch_statement(self, at: int, name: str, pos: int) -> int:
        target = self.patch_target(name, at)
        m = _PATCH_FAST.match(self.text, pos)
        if m is not None and m.group(1) != "__proto__":
            # `ID["key"] = ` in one match: every line of a DataSet index is one of these.
            value, end, _ = self.expression(m.end())
            self.assign(target, name, m.group(1), value, at)
            return self.end_statement(end)
        after = self.ws(pos)
        if not self.text.startswith((".", "["), after):
            raise self.unexpected(after, "`.` or `[`")
        key, pos = self.patch_key(pos)
        pos2 = self.ws(pos)
        if key in ("set", "add") and self.text.startswith("(", pos2):
            first, pos, _ = self.expression(self.ws(pos2 + 1))
            second = None
            if key == "set":
                pos = self.expect(pos, ",")
                second, pos, _ = self.expression(self.ws(pos))
            pos = self.ws(pos)
            if self.text.startswith(",", pos):
                pos += 1
            pos = self.expect(pos, ")")
            if key == "set":
                self.map_set(target, first, second, name, at)
            else:
                self.set_add(target, first, name, at)
            return self.end_statement(pos)
        pos = self.expect(pos, "=")
        if self.text.startswith("=", pos) or self.text.startswith(">", pos):
            raise self.unexpected(pos - 1)
        value, pos, _ = self.expression(self.ws(pos))
        self.assign(target, name, key, value, at)
        return self.end_statement(pos)

    def assign(self, target: Any, name: str, key: str, value: Any, at: int) -> None:
        if isinstance(target, list) and not isinstance(target, (JSMap, JSSet)):
            if not (key.isdigit() and str(int(key)) == key and int(key) <= len(target)):
                raise self.fail(f"`{name}[{key!r}]`: arrays may only be patched at an index up to their length", at)
            i = int(key)
            if i == len(target):
                target.append(value)
            else:
                target[i] = value
            return
        if isinstance(target, dict):
            target[key] = value
            return
        if isinstance(target, JSError):
            if key == "message":
                target.message = value
            elif key == "cause":
                target.cause = value
            else:
                target.props[key] = value
            return
        if isinstance(target, JSRegExp) and key == "lastIndex":
            target.last_index = value
            return
        raise self.format_error(f"`{name}[{key!r}]` cannot be assigned on this value", at)

    def delete_statement(self, pos: int) -> int:
        at = pos
        pos = self.ws(pos)
        name, end = self.name_at(pos)
        if name is None or name not in self.bindings:
            raise self.unexpected(pos, "a bound name")
        target = self.patch_target(name, pos)
        key, pos = self.patch_key(end)
        if isinstance(target, dict):
            target.pop(key, None)
        elif isinstance(target, list) and key.isdigit():
            i = int(key)
            if i < len(target):
                target[i] = HOLE
        elif isinstance(target, list) and key == "length":
            raise self.fail("cannot delete an array's length", at)
        elif isinstance(target, JSError):
            target.props.pop(key, None)
        else:
            raise self.format_error(f"`{name}[{key!r}]` cannot be deleted", at)
        return self.end_statement(pos)

    # ---- Map and Set ---------------------------------------------------------------------------

    def make_map(self, entries: list, at: int) -> Any:
        if not self.budget.charge(8 * len(entries)):
            raise self.fail("`new Map(...)` exceeds the archive's work budget", at)
        pairs = []
        for e in entries:
            if not isinstance(e, list) or isinstance(e, (JSMap, JSSet)):
                raise self.format_error("`new Map(...)` failed: an entry is not an array", at)
            k = e[0] if len(e) > 0 else UNDEFINED
            v = e[1] if len(e) > 1 else UNDEFINED
            pairs.append((HOLE_TO_UNDEFINED(k), HOLE_TO_UNDEFINED(v)))
        # A dict when every key is a JS primitive (hashable, compared by value as in JS) and no
        # two keys collide in Python (1 and True do); otherwise a JSMap of pairs.
        if all(_is_primitive(k) for k, _ in pairs):
            d = {}
            for k, v in pairs:
                d[k] = v
            if len(d) == len(pairs):
                return d
        return JSMap(_dedupe_pairs(pairs))

    def map_set(self, target: Any, key: Any, value: Any, name: str, at: int) -> None:
        target = self._replacements.get(id(target), target)
        if isinstance(target, JSMap):
            for i, (k, _) in enumerate(target):
                if _same_value_zero(k, key):
                    target[i] = (k, value)
                    return
            target.append((key, value))
            return
        if isinstance(target, dict) and id(target) in self._maps:
            if _is_primitive(key) and (key not in target or any(_same_value_zero(k, key) for k in target)):
                target[key] = value
                return
            if True:
                replacement = JSMap(list(target.items()))
                replacement.append((key, value))
                self._replace(target, replacement)
                return
        raise self.fail(f"`{name}.set(...)` needs `{name}` to be a Map", at)

    def set_add(self, target: Any, value: Any, name: str, at: int) -> None:
        target = self._replacements.get(id(target), target)
        if isinstance(target, JSSet):
            if not any(_same_value_zero(v, value) for v in target):
                target.append(value)
            return
        if isinstance(target, set):
            if _is_primitive(value) and (value not in target or any(_same_value_zero(v, value) for v in target)):
                target.add(value)
                return
            if True:
                replacement = JSSet(list(target))
                replacement.append(value)
                self._replace(target, replacement)
                return
        raise self.fail(f"`{name}.add(...)` needs `{name}` to be a Set", at)

    def _replace(self, old: Any, new: Any) -> None:
        self._replacements[id(old)] = new
        self._keep.append(old)  # keep ids stable until the fix-up pass
        for name, (kind, value, patchable) in list(self.bindings.items()):
            if value is old:
                self.bindings[name] = (kind, new, patchable)

    def _fix_containers(self) -> None:
        """Swap every reference to a Map/Set that had to change representation for its new one."""
        repl = self._replacements
        seen: set[int] = set()
        for key, value in list(self.exports.items()):
            self.exports[key] = repl.get(id(value), value)
        stack = [v for v in self.exports.values()] + list(repl.values())
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            if isinstance(v, dict):
                items = list(v.items())
                if any(id(k) in repl for k, _ in items):
                    v.clear()
                    for k, x in items:
                        v[repl.get(id(k), k)] = repl.get(id(x), x)
                else:
                    for k, x in items:
                        if id(x) in repl:
                            v[k] = repl[id(x)]
                stack.extend(v.keys())
                stack.extend(v.values())
            elif isinstance(v, (JSMap,)):
                for i, (k, x) in enumerate(v):
                    v[i] = (repl.get(id(k), k), repl.get(id(x), x))
                    stack.extend(v[i])
            elif isinstance(v, list):
                for i, x in enumerate(v):
                    if id(x) in repl:
                        v[i] = repl[id(x)]
                stack.extend(v)
            elif isinstance(v, JSError):
                v.cause = repl.get(id(v.cause), v.cause)
                stack.append(v.cause)
                for k, x in v.props.items():
                    v.props[k] = repl.get(id(x), x)
                stack.extend(v.props.values())
                if v.errors is not None:
                    stack.append(v.errors)
            elif isinstance(v, Instance):
                for i, x in enumerate(v.args):
                    v.args[i] = repl.get(id(x), x)
                stack.extend(v.args)

    # ---- expressions ---------------------------------------------------------------------------

    def expression(self, pos: int) -> tuple[Any, int, bool]:
        """Reads one expression at `pos` (whitespace skipped). Returns the value, the end and
        whether the value was created here (a literal or a `new`), i.e. may be patched."""
        value, pos, created = self.primary(pos)
        text = self.text
        # Postfix members: `.buffer` of a typed array, `.data` of an NDArray.
        while True:
            p = self.ws(pos) if pos < len(text) and text[pos] in " \t\n\r/" else pos
            if not text.startswith(".", p):
                return value, pos, created
            value, pos = self.member(value, self.ws(p + 1), p)
            created = True

    def primary(self, pos: int) -> tuple[Any, int, bool]:
        text = self.text
        if pos >= len(text):
            raise self.unexpected(pos, "a value")
        c = text[pos]
        if c == "{":
            obj, end = self.object(pos + 1, pos)
            return obj, end, True
        if c == "[":
            arr, end = self.array(pos + 1, pos)
            return arr, end, True
        if c == '"' or c == "'":
            value, pos = self.string(pos)
            return value, pos, False
        if c.isdigit() or c == ".":
            value, end = self.number(pos)
            if value is None:
                raise self.unexpected(pos, "a value")
            if isinstance(value, _Big):
                value = JSBigInt(value.value)
            return value, end, False
        if c == "-" or c == "+":
            return self.signed(pos)
        name, end = self.name_at(pos)
        if name is None:
            raise self.unexpected(pos, "a value")
        return self.named(name, pos, end)

    def signed(self, pos: int) -> tuple[Any, int, bool]:
        negative = self.text[pos] == "-"
        if self.text.startswith(("--", "++", "-=", "+="), pos):
            raise self.unexpected(pos)
        p = self.ws(pos + 1)
        value, end = self.number(p)
        if value is not None:
            if isinstance(value, _Big):
                if not negative:
                    raise self.unexpected(pos, "a number after the sign")
                return JSBigInt(-value.value), end, False
            if negative:
                value = -value if value != 0 or isinstance(value, float) else -0.0
            return value, end, False
        name, end = self.name_at(p)
        if name == "Infinity" and "Infinity" not in self.bindings:
            return (-math.inf if negative else math.inf), end, False
        if name == "NaN":
            return math.nan, end, False
        raise self.unexpected(p, "a number after the sign")

    def string(self, pos: int) -> tuple[str, int]:
        text = self.text
        quote = text[pos]
        m = _SIMPLE_STR[quote].match(text, pos)
        if m is not None:
            return m.group(1), m.end()
        return self.escaped_string(pos, quote)

    def escaped_string(self, start: int, quote: str) -> tuple[str, int]:
        text = self.text
        n = len(text)
        out = []
        i = start + 1
        chunk = i
        while i < n:
            c = text[i]
            if c == quote:
                out.append(text[chunk:i])
                return join_surrogates("".join(out)), i + 1
            if c == "\n" or c == "\r":
                break
            if c != "\\":
                i += 1
                continue
            out.append(text[chunk:i])
            if i + 1 >= n:
                break
            e = text[i + 1]
            i += 2
            simple = _ESCAPES.get(e)
            if simple is not None:
                out.append(simple)
            elif e == "0":
                if i < n and text[i].isdigit():
                    raise self.fail("octal escape sequences are not allowed", i - 2)
                out.append("\0")
            elif e == "x":
                h = text[i : i + 2]
                if len(h) != 2 or not _is_hex(h):
                    raise self.fail("malformed \\x escape", i - 2)
                out.append(chr(int(h, 16)))
                i += 2
            elif e == "u":
                if text.startswith("{", i):
                    close = text.find("}", i)
                    h = text[i + 1 : close] if close > 0 else ""
                    if not (0 < len(h) <= 8 and _is_hex(h)) or int(h, 16) > 0x10FFFF:
                        raise self.fail("malformed \\u{} escape", i - 2)
                    cp = int(h, 16)
                    out.append(chr(cp))
                    i = close + 1
                else:
                    h = text[i : i + 4]
                    if len(h) != 4 or not _is_hex(h):
                        raise self.fail("malformed \\u escape", i - 2)
                    out.append(chr(int(h, 16)))
                    i += 4
            elif e == "\r":
                if text.startswith("\n", i):
                    i += 1
            elif e in "\n\u2028\u2029":
                pass  # line continuation
            elif e in "123456789":
                raise self.fail("octal escape sequences are not allowed", i - 2)
            else:
                out.append(e)
            chunk = i
        raise self.fail("unterminated string", start)

    def number(self, pos: int) -> tuple[Any, int]:
        """A numeric literal at pos: int (integer literal), float, or _Big (BigInt); None if none."""
        text = self.text
        m = _RADIX.match(text, pos)
        if m is not None:
            raw = m.group()
            end = m.end()
            digits = raw[2:]
            if digits.startswith("_") or digits.endswith("_") or "__" in digits:
                raise self.fail("malformed numeric separator", pos)
            value: Any = int(digits.replace("_", ""), {"x": 16, "o": 8, "b": 2}[raw[1].lower()])
            if text.startswith("n", end):
                self.check_after_number(end + 1, pos)
                return _Big(value), end + 1
            self.check_after_number(end, pos)
            return (value if value <= 2**53 else float(value)), end
        m = _DECIMAL.match(text, pos)
        if m is None:
            return None, pos
        raw = m.group()
        end = m.end()
        if text.startswith("0", pos) and pos + 1 < len(text) and text[pos + 1].isdigit():
            raise self.fail("unexpected legacy octal literal (not allowed in modules)", pos)
        if "_" in raw:
            if re.search(r"(^|[^0-9])_|_($|[^0-9])", raw):
                raise self.fail("malformed numeric separator", pos)
            raw = raw.replace("_", "")
        if text.startswith("n", end):
            if not raw.isdigit():
                raise self.fail("malformed BigInt", pos)
            if len(raw) > MAX_BIGINT_DIGITS:
                raise self.fail("BigInt literal too long", pos)
            self.check_after_number(end + 1, pos)
            return _Big(int(raw)), end + 1
        self.check_after_number(end, pos)
        if raw.isdigit():
            value = int(raw)
            # Beyond 2^53 a JS number is not that integer any more: keep what JS would hold.
            return (value if value <= 2**53 else float(value)), end
        if raw.endswith("."):
            raw += "0"
        if raw.startswith("."):
            raw = "0" + raw
        return float(raw), end

    def check_after_number(self, end: int, start: int) -> None:
        if end < len(self.text):
            c = self.text[end]
            if _AFTER_NUMBER.match(c) or (ord(c) > 127 and c.isidentifier()):
                raise self.fail("malformed number", start)

    def object(self, pos: int, at: int) -> tuple[dict, int]:
        text = self.text
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", at)
        obj: dict = {}
        entry = _ENTRY.match
        proto_set = False
        pos = self.ws(pos)
        while True:
            m = entry(text, pos)
            if m is not None:
                g = m.groups()
                key = g[0] if g[0] is not None else g[1]
                if key != "__proto__":
                    if g[2] is not None:
                        obj[key] = g[2]
                    elif g[3] is not None:
                        v = int(g[3])
                        obj[key] = v if -(2**53) <= v <= 2**53 else float(v)
                    elif g[4] is not None:
                        obj[key] = float(g[4])
                    else:
                        obj[key] = _KEYWORDS[g[5]]
                    pos = m.end()
                    if g[6]:
                        if text.startswith("/", pos):
                            pos = self.ws(pos)
                        continue
                    if text.startswith("}", pos):
                        self.depth -= 1
                        return obj, pos + 1
                    pos = self.ws(pos)
                    if text.startswith("}", pos):
                        self.depth -= 1
                        return obj, pos + 1
                    raise self.unexpected(pos, "`,` or `}`")
            # General entry.
            if pos >= len(text):
                raise self.unexpected(pos, "a property key or `}`")
            c = text[pos]
            if c == "}":
                self.depth -= 1
                return obj, pos + 1
            key_at = pos
            proto_form = False
            if c == '"' or c == "'":
                key, pos = self.string(pos)
                proto_form = key == "__proto__"
            elif c == "[":
                p = self.ws(pos + 1)
                if p < len(text) and text[p] in "\"'":
                    key, p = self.string(p)
                else:
                    num, p = self.number(p)
                    if num is None or isinstance(num, _Big):
                        raise self.unexpected(p, "a string or number key (computed keys must be literals)")
                    key = number_to_string(num)
                pos = self.expect(p, "]")
            elif c.isdigit() or c == ".":
                num, pos = self.number(pos)
                if num is None or isinstance(num, _Big):
                    raise self.unexpected(pos, "a property key or `}`")
                key = number_to_string(num)
            elif c == "*":
                raise self.fail("generator methods are not allowed in object literals", pos)
            else:
                key, end = self.name_at(pos)
                if key is None:
                    raise self.unexpected(pos, "a property key or `}`")
                proto_form = key == "__proto__"
                p = self.ws(end)
                if not text.startswith(":", p):
                    if p < len(text) and (text[p] == "(" or _NAME.match(text, p)):
                        raise self.fail(f"getters, setters and methods are not allowed in object literals (at `{key}`)", key_at)
                    if text.startswith((",", "}"), p):
                        raise self.fail(f"shorthand property `{key}` is not allowed; write `{key}: value`", key_at)
                pos = end
            pos = self.expect(pos, ":")
            pos = self.ws(pos)
            if proto_form:
                # `__proto__: null` makes a null-prototype object (a dict all the same).
                if not self.word_is(pos, "null"):
                    raise self.fail('`__proto__` may only be set to `null` (write `["__proto__"]: v` for an own key)', pos)
                if proto_set:
                    raise self.fail("duplicate `__proto__`", key_at)
                proto_set = True
                pos = self.name_at(pos)[1]
            else:
                value, pos, _ = self.expression(pos)
                obj[key] = value
            pos = self.ws(pos)
            if text.startswith(",", pos):
                pos = self.ws(pos + 1)
                continue
            if text.startswith("}", pos):
                self.depth -= 1
                return obj, pos + 1
            raise self.unexpected(pos, "`,` or `}`")

    def array(self, pos: int, at: int) -> tuple[list, int]:
        text = self.text
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", at)
        arr: list = []
        append = arr.append
        element = _ELEMENT.match
        pos = self.ws(pos)
        while True:
            m = element(text, pos)
            if m is not None:
                g = m.groups()
                if g[0] is not None:
                    append(g[0])
                elif g[1] is not None:
                    v = int(g[1])
                    append(v if -(2**53) <= v <= 2**53 else float(v))
                elif g[2] is not None:
                    append(float(g[2]))
                else:
                    append(_KEYWORDS[g[3]])
                pos = m.end()
                if g[4]:
                    continue
                if text.startswith("]", pos):
                    self.depth -= 1
                    return arr, pos + 1
                pos = self.ws(pos)
                if text.startswith("]", pos):
                    self.depth -= 1
                    return arr, pos + 1
                raise self.unexpected(pos, "`,` or `]`")
            if pos >= len(text):
                raise self.unexpected(pos, "`]`")
            c = text[pos]
            if c == "]":
                self.depth -= 1
                return arr, pos + 1
            if c == ",":  # a hole
                append(HOLE)
                pos = self.ws(pos + 1)
                continue
            value, pos, _ = self.expression(pos)
            append(value)
            pos = self.ws(pos)
            if text.startswith(",", pos):
                pos = self.ws(pos + 1)
                continue
            if text.startswith("]", pos):
                self.depth -= 1
                return arr, pos + 1
            raise self.unexpected(pos, "`,` or `]`")

    def arguments(self, pos: int, at: int) -> tuple[list, list, int]:
        """Call arguments after `(`: values, whether each was created here, the end."""
        text = self.text
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", at)
        args: list = []
        created: list = []
        while True:
            pos = self.ws(pos)
            if text.startswith(")", pos):
                self.depth -= 1
                return args, created, pos + 1
            value, pos, c = self.expression(pos)
            args.append(value)
            created.append(c)
            pos = self.ws(pos)
            if text.startswith(",", pos):
                pos += 1
                continue
            pos = self.expect(pos, ")")
            self.depth -= 1
            return args, created, pos

    def named(self, name: str, pos: int, end: int) -> tuple[Any, int, bool]:
        """A value that starts with a name: keywords, `new`, bindings, calls, global paths."""
        if name in _NAMED_CONSTANTS and name not in self.bindings:
            return _NAMED_CONSTANTS[name], end, False
        if name == "new":
            return self.new_expression(pos, end)
        binding = self.bindings.get(name)
        if binding is not None:
            kind, value, patchable = binding
            if kind == _ARRAYS:
                p = self.expect(end, ".")
                p = self.ws(p)
                key, e = self.name_at(p)
                if key is None:
                    raise self.unexpected(p, "an array name")
                if key not in value:
                    raise self.fail(f"no external array named `{key}`", p)
                return value[key], e, False
            if kind == _IMPORT:
                p = self.ws(end)
                if self.text.startswith("(", p):
                    raise self.fail(f"calling `{name}(...)` is not allowed; use `new {name}(...)`", pos)
                if self.text.startswith(".", p):
                    return self.factory_call(value, name, pos, self.ws(p + 1))
                if isinstance(value, _Import):
                    return JSFunction(value.name, value.module), end, False
                raise self.fail(f"`{name}` cannot be used as a value", pos)
            return value, end, patchable
        if name in RESERVED or name in FORBIDDEN_PATHS:
            raise self.unexpected(pos)
        if name in GLOBAL_ROOTS:
            return self.global_expression(name, pos, end)
        raise self.unexpected(pos, "a value")

    def global_expression(self, name: str, pos: int, end: int) -> tuple[Any, int, bool]:
        text = self.text
        path = name
        p = end
        while True:
            q = self.ws(p)
            if not text.startswith(".", q):
                break
            q = self.ws(q + 1)
            part, e = self.name_at(q)
            if part is None:
                raise self.unexpected(q, "a property name")
            path += "." + part
            p = e
        q = self.ws(p)
        if text.startswith("(", q):
            if path == "Object":
                args, created, p = self.arguments(q + 1, pos)
                if len(args) != 1 or not _is_primitive(args[0]) or args[0] is UNDEFINED:
                    raise self.fail("`Object(x)` is only allowed to box a primitive", pos)
                return JSBoxed(args[0]), p, True
            if path == "Object.assign":
                args, created, p = self.arguments(q + 1, pos)
                if (
                    len(args) == 2
                    and created[0]
                    and created[1]
                    and isinstance(args[0], np.ndarray)
                    and id(args[0]) in self._ctors
                    and _is_array(args[1])
                ):
                    return self.fill_typed(args[0], args[1], pos), p, True
                if len(args) != 2 or not created[0] or not isinstance(args[1], dict) or not created[1]:
                    raise self.fail("`Object.assign` needs a new value and an object literal", pos)
                return self.object_assign(args[0], args[1], pos), p, True
            if path == "Symbol.for":
                args, _, p = self.arguments(q + 1, pos)
                if len(args) != 1 or not isinstance(args[0], str):
                    raise self.fail("`Symbol.for` needs one string", pos)
                return JSSymbol(args[0]), p, False
            raise self.fail(f"calling `{path}(...)` is not allowed", pos)
        if path.startswith("Symbol.") and path[7:] in WELL_KNOWN_SYMBOLS:
            return JSSymbol(path[7:], True), p, False
        parts = path.split(".")
        if (
            any(part in FORBIDDEN_PATHS or part in ("constructor", "prototype", "__proto__") for part in parts)
            or len(parts) > 2
            or (len(parts) == 1 and name not in GLOBAL_FUNCTIONS)
        ):
            raise self.fail(f"`{path}` is not an allowed global", pos)
        return JSFunction(path), p, False

    def fill_typed(self, target: np.ndarray, items: list, at: int) -> np.ndarray:
        """`Object.assign(new Uint8Array(buffer), [1, 2, 3])`: the first elements set from a literal
        (how a resizable buffer gets its contents)."""
        if len(items) > target.size:
            raise self.format_error("`Object.assign(...)`: more elements than the typed array holds", at)
        values = self.typed_from_list(items, self._ctors[id(target)], target.dtype, at)
        if not target.flags.writeable:
            raise self.format_error("`Object.assign(...)`: the typed array is read-only", at)
        target[: len(values)] = values
        return target

    def object_assign(self, target: Any, source: dict, at: int) -> Any:
        if "__proto__" in source:
            raise self.fail("`Object.assign` of a `__proto__` key is not allowed", at)
        if isinstance(target, list) and not isinstance(target, (JSMap, JSSet)):
            length = source.get("length", len(target))
            if not isinstance(length, int) or isinstance(length, bool) or length < 0 or length > 2**32 - 1:
                raise self.format_error("`Object.assign(...)` failed: Invalid array length", at)
            if length > len(target):
                if not self.budget.charge(8 * (length - len(target))):
                    raise self.fail("`Object.assign(...)` exceeds the archive's work budget (array length)", at)
                target.extend([HOLE] * (length - len(target)))
            else:
                del target[length:]
            for k, v in source.items():
                if k == "length":
                    continue
                if k.isdigit() and str(int(k)) == k:
                    i = int(k)
                    if i >= len(target):
                        if not self.budget.charge(8 * (i + 1 - len(target))):
                            raise self.fail("`Object.assign(...)` exceeds the archive's work budget", at)
                        target.extend([HOLE] * (i + 1 - len(target)))
                    target[i] = v
                else:
                    raise self.format_error(f"`Object.assign(...)`: an array cannot hold the property `{k}` in Python", at)
            return target
        if isinstance(target, dict):
            target.update(source)
            return target
        if isinstance(target, JSError):
            for k, v in source.items():
                if k == "message":
                    target.message = v
                elif k == "cause":
                    target.cause = v
                else:
                    target.props[k] = v
            return target
        if isinstance(target, JSRegExp):
            for k, v in source.items():
                if k != "lastIndex":
                    raise self.format_error(f"`Object.assign(...)`: a RegExp cannot hold `{k}` here", at)
                target.last_index = v
            return target
        if isinstance(target, Instance):
            if source:
                target.props = dict(source)  # type: ignore[attr-defined]
            return target
        raise self.format_error("`Object.assign(...)` cannot add properties to this value in Python", at)

    def member(self, value: Any, pos: int, dot: int) -> tuple[Any, int]:
        key, end = self.name_at(pos)
        if key is None:
            raise self.unexpected(pos, "a property name")
        if key == "buffer" and isinstance(value, np.ndarray) and id(value) in self._ctors:
            return _buffer_of(value), end
        if key == "data" and isinstance(value, np.ndarray) and id(value) not in self._ctors:
            data = _data_of(value)
            return self.typed(data, _ctor_of(data)), end
        raise self.fail(f"member access `.{key}` is not allowed here", dot)

    def factory_call(self, imported: Any, name: str, pos: int, p: int) -> tuple[Any, int, bool]:
        method, e = self.name_at(p)
        if method is None:
            raise self.unexpected(p, "a factory method name")
        if method in ("constructor", "prototype", "__proto__", "call", "apply", "bind") or not isinstance(imported, _Import):
            raise self.fail(f"`{name}.{method}` is not a static method of the import", p)
        q = self.ws(e)
        if not self.text.startswith("(", q):
            raise self.fail(f"`{name}.{method}` may only be called", p)
        args, _, end = self.arguments(q + 1, pos)
        factory = factory_for(imported.module, f"{imported.name}.{method}")
        if factory is not None:
            return self.call_factory(factory, args, f"{name}.{method}", pos), end, True
        return Instance(imported.module, imported.name, args, method), end, True

    def call_factory(self, factory: Callable, args: list, what: str, at: int) -> Any:
        try:
            return factory(*args)
        except ArchiveError:
            raise
        except Exception as error:  # a registered factory refused these arguments
            raise self.format_error(f"calling `{what}(...)` failed: {error}", at) from error

    def new_expression(self, pos: int, end: int) -> tuple[Any, int, bool]:
        p = self.ws(end)
        callee, e = self.name_at(p)
        if callee is None:
            raise self.unexpected(p, "a class name")
        q = self.ws(e)
        if not self.text.startswith("(", q):
            raise self.unexpected(q, "`(`")
        binding = self.bindings.get(callee)
        if binding is not None:
            kind, value, _ = binding
            if kind != _IMPORT or value is _LOAD_ARRAYS:
                raise self.fail(f"`new {callee}`: only imported classes and allowed built-ins can be constructed", p)
            args, _, end = self.arguments(q + 1, pos)
            if value is _NDARRAY:
                return self.ndarray(args, pos), end, True
            factory = factory_for(value.module, value.name)
            if factory is not None:
                return self.call_factory(factory, args, f"new {callee}", pos), end, True
            return Instance(value.module, value.name, args), end, True
        if callee not in CONSTRUCTORS:
            raise self.fail(f"`new {callee}` is not allowed", p)
        args, _, end = self.arguments(q + 1, pos)
        return self.construct(callee, args, pos), end, True

    # ---- built-in constructors -----------------------------------------------------------------

    def typed(self, arr: np.ndarray, ctor: str) -> np.ndarray:
        """Records that `arr` stands for a JS TypedArray of class `ctor` (for `.buffer`, NDArray)."""
        self._ctors[id(arr)] = ctor
        self._keep.append(arr)
        return arr

    def construct(self, callee: str, args: list, at: int) -> Any:
        n = len(args)
        a0 = args[0] if n else UNDEFINED

        def bad(problem: str) -> UnsafeArchiveError:
            return self.fail(f"`new {callee}(...)` {problem}", at)

        if callee == "Map":
            if n > 1 or (n == 1 and not _is_array(a0)):
                raise bad("takes an array literal")
            m = self.make_map(a0 if n else [], at)
            if isinstance(m, dict):
                self._maps.add(id(m))
                self.kinds[id(m)] = "Map"
                self._keep.append(m)
            return m
        if callee == "Set":
            if n > 1 or (n == 1 and not _is_array(a0)):
                raise bad("takes an array literal")
            items = [HOLE_TO_UNDEFINED(x) for x in (a0 if n else [])]
            if not self.budget.charge(8 * len(items)):
                raise bad("exceeds the archive's work budget")
            if all(_is_primitive(x) for x in items):
                s = set(items)
                if len(s) == len(items):
                    return s
            if True:
                out = JSSet()
                for x in items:
                    if not any(_same_value_zero(x, y) for y in out):
                        out.append(x)
                return out
        if callee == "Date":
            return self.date(args, at, bad)
        if callee == "RegExp":
            if n < 1 or n > 2 or not all(isinstance(a, str) for a in args):
                raise bad("takes a pattern and flags string")
            return JSRegExp(a0, args[1] if n > 1 else "")
        if callee in ERROR_NAMES:
            if callee == "AggregateError":
                if n < 1 or n > 3 or not _is_array(a0):
                    raise bad("takes an array of errors")
                errors, rest = list(a0), args[1:]
            else:
                errors, rest = None, args
            if len(rest) > 2 or (rest and not isinstance(rest[0], str) and rest[0] is not UNDEFINED):
                raise bad("takes a message string")
            if len(rest) == 2 and not isinstance(rest[1], dict):
                raise bad("takes an options object literal")
            err = JSError(callee, rest[0] if rest and rest[0] is not UNDEFINED else "", errors=errors)
            if len(rest) == 2 and "cause" in rest[1]:
                err.cause = rest[1]["cause"]
            return err
        if callee in ("Number", "String", "Boolean"):
            if n > 1 or (n == 1 and not _is_primitive(a0)) or isinstance(a0, JSSymbol):
                raise bad("takes one primitive")
            if callee == "Number":
                v = _to_number(a0) if n else 0
            elif callee == "String":
                v = _to_js_string(a0) if n else ""
            else:
                v = _truthy(a0) if n else False
            return JSBoxed(v)
        if callee == "ArrayBuffer":
            # `new ArrayBuffer(n, { maxByteLength: m })` is a resizable buffer in JS; Python keeps
            # its bytes (a bytearray, which can grow anyway).
            if n == 2 and isinstance(args[1], dict) and set(args[1]) <= {"maxByteLength"}:
                m = args[1].get("maxByteLength", a0)
                if not _is_index(m) or (_is_index(a0) and m < a0):
                    raise bad("takes a byte length and { maxByteLength } at least as large")
                n = 1
            if n != 1 or not _is_index(a0):
                raise bad("takes a byte length")
            if not self.budget.charge(a0):
                raise bad(f"takes a byte length up to {self.budget.left} for this archive")
            return bytearray(a0)
        if callee == "DataView":
            if n < 1 or n > 3 or not isinstance(a0, bytearray) or not all(_is_index(x) for x in args[1:]):
                raise bad("takes an ArrayBuffer, offset and length")
            offset = args[1] if n > 1 else 0
            length = args[2] if n > 2 else len(a0) - offset
            if offset > len(a0) or offset + length > len(a0):
                raise self.format_error(f"`new DataView(...)` failed: offset {offset} + length {length} is outside the buffer", at)
            return JSDataView(a0, offset, length)
        # Typed arrays.
        dtype = TYPED_ARRAYS[callee]
        if n == 0:
            return self.typed(np.zeros(0, dtype), callee)
        if isinstance(a0, bytearray) and n <= 3 and all(_is_index(x) for x in args[1:]):
            offset = args[1] if n > 1 else 0
            if offset % dtype.itemsize:
                raise self.format_error(f"`new {callee}(...)` failed: start offset of {callee} should be a multiple of {dtype.itemsize}", at)
            if n > 2:
                count = args[2]
            else:
                if (len(a0) - offset) % dtype.itemsize or offset > len(a0):
                    raise self.format_error(f"`new {callee}(...)` failed: byte length of {callee} should be a multiple of {dtype.itemsize}", at)
                count = (len(a0) - offset) // dtype.itemsize
            if offset + count * dtype.itemsize > len(a0):
                raise self.format_error(f"`new {callee}(...)` failed: invalid typed array length: {count}", at)
            return self.typed(np.frombuffer(a0, dtype=dtype, count=count, offset=offset), callee)
        if n != 1:
            raise bad("takes an array literal, a typed array, a bounded length, or a buffer with offset and length")
        if _is_array(a0):
            if not self.budget.charge(len(a0) * dtype.itemsize):
                raise bad("exceeds the archive's work budget (a bounded length)")
            return self.typed(self.typed_from_list(a0, callee, dtype, at), callee)
        if isinstance(a0, np.ndarray):
            if not self.budget.charge(a0.size * dtype.itemsize):
                raise bad("exceeds the archive's work budget (a bounded length)")
            src = a0.reshape(-1)
            if callee == "Uint8ClampedArray" and src.dtype.kind in "fiu":
                src = np.clip(np.rint(src) if src.dtype.kind == "f" else src, 0, 255)
            if (dtype.kind == "i" and dtype.itemsize == 8) != (src.dtype.kind == "i" and src.dtype.itemsize == 8) and (
                dtype.itemsize == 8 and dtype.kind in "iu"
            ) != (src.dtype.itemsize == 8 and src.dtype.kind in "iu"):
                raise self.format_error(f"`new {callee}(...)` failed: Cannot mix BigInt and other types", at)
            return self.typed(np.array(src, dtype=dtype, copy=True), callee)
        if _is_index(a0):
            if not self.budget.charge(a0 * dtype.itemsize):
                raise bad("exceeds the archive's work budget (a bounded length)")
            return self.typed(np.zeros(a0, dtype), callee)
        raise bad("takes an array literal, a typed array, a bounded length, or a buffer with offset and length")

    def typed_from_list(self, items: list, callee: str, dtype: np.dtype, at: int) -> np.ndarray:
        big = dtype.itemsize == 8 and dtype.kind in "iu"
        values = []
        for x in items:
            if x is HOLE or x is UNDEFINED:
                x = math.nan
            if big:
                if not isinstance(x, int) or isinstance(x, bool) and False:
                    raise self.format_error(f"`new {callee}(...)` failed: Cannot convert {x!r} to a BigInt", at)
                bits = 64
                x = int(x) & ((1 << bits) - 1)
                if dtype.kind == "i" and x >= 1 << 63:
                    x -= 1 << 64
            elif not isinstance(x, (int, float)):
                x = _to_number(x)
            values.append(x)
        if big:
            return np.array(values, dtype=dtype)
        arr = np.array(values, dtype=np.float64)
        if dtype.kind == "f":
            return arr.astype(dtype)
        if callee == "Uint8ClampedArray":
            return np.clip(np.nan_to_num(np.rint(arr), nan=0.0), 0, 255).astype(dtype)
        # ToInt32 / ToUint8 ...: truncate, wrap modulo 2^bits; NaN and infinities become 0.
        arr = np.nan_to_num(np.trunc(arr), nan=0.0, posinf=0.0, neginf=0.0)
        bits = dtype.itemsize * 8
        wrapped = np.mod(arr, float(1 << bits)).astype(np.uint64)
        return wrapped.astype(np.dtype(f"<u{dtype.itemsize}")).view(dtype)

    def ndarray(self, args: list, at: int) -> np.ndarray:
        if len(args) < 2 or len(args) > 3 or not isinstance(args[0], np.ndarray) or not _is_array(args[1]):
            raise self.format_error("`new NDArray(...)` failed: it takes a TypedArray, a shape and options", at)
        data, shape = args[0], args[1]
        options = args[2] if len(args) == 3 else {}
        if not isinstance(options, dict):
            raise self.format_error("`new NDArray(...)` failed: options must be an object", at)
        order = options.get("order", "C")
        if order not in ("C", "F"):
            raise self.format_error('`new NDArray(...)` failed: order must be "C" or "F"', at)
        if not all(_is_index(d) for d in shape):
            raise self.format_error(f"`new NDArray(...)` failed: shape {shape!r} has a bad dimension", at)
        ctor = self._ctors.get(id(data))
        if ctor is None:
            raise self.format_error("`new NDArray(...)` failed: data must be a TypedArray", at)
        descr = options.get("dtype")
        from .arrays import descr_for_ctor, dtype_from_descr

        if descr is None:
            descr = descr_for_ctor(ctor)
        try:
            dtype, storage_ctor = dtype_from_descr(descr)
        except ArchiveError as error:
            raise self.format_error(f"`new NDArray(...)` failed: {error}", at) from None
        if storage_ctor != ctor and not (storage_ctor == "Uint8Array" and ctor == "Uint8ClampedArray"):
            raise self.format_error(f"`new NDArray(...)` failed: dtype {descr} needs a {storage_ctor}, got a {ctor}", at)
        size = 1
        for d in shape:
            size *= d
        flat = np.ascontiguousarray(data.reshape(-1)).view(dtype) if data.size else np.zeros(0, dtype)
        if flat.size != size:
            raise self.format_error(f"`new NDArray(...)` failed: shape {shape} needs {size} elements, data has {flat.size}", at)
        out = flat.reshape(tuple(shape), order=order)
        return out

    def date(self, args: list, at: int, bad: Callable[[str], Exception]) -> Any:
        n = len(args)
        if n == 0:
            raise bad("needs a time (it would read the clock)")
        if n == 1 and isinstance(args[0], str):
            return _parse_date(args[0])
        if n > 7 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
            raise bad("takes a string or numbers")
        if n == 1:
            return _date_from_ms(float(args[0]))
        return _local_date(args)


class _Big:
    """A BigInt literal while it is being read (so `-` applies to it and `n` is known)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}
_NAMED_CONSTANTS = {"null": None, "true": True, "false": False, "undefined": UNDEFINED, "NaN": math.nan, "Infinity": math.inf}
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_hex(s: str) -> bool:
    return all(c in _HEX for c in s)


def HOLE_TO_UNDEFINED(x: Any) -> Any:
    return UNDEFINED if x is HOLE else x


def _is_array(x: Any) -> bool:
    return isinstance(x, list) and not isinstance(x, (JSMap, JSSet))


def _is_index(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 2**53 or (
        isinstance(x, float) and x.is_integer() and 0 <= x <= 2**53 and not (x == 0 and math.copysign(1, x) < 0)
    )


def _is_primitive(x: Any) -> bool:
    """JS primitives: compared by value in a Map or Set, so a Python dict or set holds them alike."""
    return x is None or x is UNDEFINED or isinstance(x, (bool, int, float, str, JSSymbol))


def _same_value_zero(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if isinstance(a, (int, float, str, JSSymbol)):
        return a == b
    return False


def _dedupe_pairs(pairs: list) -> list:
    out: list = []
    for k, v in pairs:
        for i, (k2, _) in enumerate(out):
            if _same_value_zero(k, k2):
                out[i] = (k2, v)
                break
        else:
            out.append((k, v))
    return out


def _to_number(x: Any) -> float:
    if x is None or x is False:
        return 0
    if x is True:
        return 1
    if x is UNDEFINED:
        return math.nan
    if isinstance(x, (int, float)):
        return x
    if isinstance(x, str):
        s = x.strip()
        if s == "":
            return 0
        try:
            return float(s) if s not in ("inf", "-inf", "+inf", "nan", "infinity") else math.nan
        except ValueError:
            return math.nan
    return math.nan


def _to_js_string(x: Any) -> str:
    if x is None:
        return "null"
    if x is UNDEFINED:
        return "undefined"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, float):
        return number_to_string(x)
    return str(x)


def _truthy(x: Any) -> bool:
    if x is None or x is UNDEFINED or x is False:
        return False
    if isinstance(x, float) and x != x:
        return False
    if isinstance(x, (int, float, str)):
        return bool(x)
    return True


def _ctor_of(arr: np.ndarray) -> str:
    for name, dt in TYPED_ARRAYS.items():
        if arr.dtype == dt and name != "Uint8ClampedArray":
            return name
    return "Uint8Array" if arr.dtype == np.bool_ else "?"


def _buffer_of(arr: np.ndarray) -> bytearray:
    base = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer keeps a memoryview of the bytearray
        base = base.obj
    if isinstance(base, bytearray):  # a view on a buffer the archive made: that same buffer
        return base
    return bytearray(np.ascontiguousarray(arr).tobytes())


def _data_of(arr: np.ndarray) -> np.ndarray:
    """`.data` of an NDArray: its elements flat in memory order, as the TypedArray that holds them."""
    flat = arr.reshape(-1, order="F" if (arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous) else "C")
    kind = arr.dtype.kind
    if kind == "c":
        flat = flat.view(np.float32 if arr.dtype.itemsize == 8 else np.float64)
    elif kind == "b":
        flat = flat.view(np.uint8)
    elif kind == "f" and arr.dtype.itemsize == 2:
        flat = flat.view(np.uint16)
    return flat


def _inside_location(location: str) -> bool:
    if not location.startswith("./") or "\\" in location or ":" in location or "\0" in location:
        return False
    return all(part != ".." for part in location.split("/"))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO = re.compile(
    r"([+-]\d{6}|\d{4})(?:-(\d\d)(?:-(\d\d))?)?"
    r"(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:\d\d)?)?"
)


def _date_from_ms(ms: float) -> Any:
    from .values import JSDate

    if ms != ms or abs(ms) > 8.64e15:
        return JSDate(math.nan)
    ms = math.trunc(ms) + 0.0
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return JSDate(ms)


def _parse_date(s: str) -> Any:
    """Date.parse for the ISO forms (what toISOString writes, plus the other ES date-time forms)."""
    from .values import JSDate

    m = _ISO.fullmatch(s)
    if m is None:
        return JSDate(math.nan)
    year_s, mo, d, hh, mi, ss, frac, tz = m.groups()
    if year_s == "-000000":
        return JSDate(math.nan)
    year = int(year_s)
    month = int(mo or 1)
    day = int(d or 1)
    hour, minute, second = int(hh or 0), int(mi or 0), int(ss or 0)
    ms = int((frac or "0")[:3].ljust(3, "0"))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 24 and minute < 60 and second < 60):
        return JSDate(math.nan)
    if hour == 24 and (minute or second or ms):
        return JSDate(math.nan)
    days = _days_from_civil(year, month, day)
    if day > _days_in_month(year, month):
        return JSDate(math.nan)
    total = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms
    if tz is None and hh is not None:
        # Date-time without an offset is local time in JS.
        local = datetime(2000, 1, 1).astimezone().utcoffset() or timedelta(0)
        try:
            naive = datetime(year, month, day) + timedelta(hours=hour, minutes=minute, seconds=second, milliseconds=ms)
            local = naive.astimezone().utcoffset() or local
        except (ValueError, OverflowError):
            pass
        total -= int(local.total_seconds() * 1000)
    elif tz not in (None, "Z"):
        sign = 1 if tz[0] == "+" else -1
        total -= sign * (int(tz[1:3]) * 60 + int(tz[4:6])) * 60_000
    return _date_from_ms(float(total))


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400  # floor division (the C++ original truncates, hence its -399)
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _local_date(args: list) -> Any:
    from .values import JSDate

    if any(a != a or a in (math.inf, -math.inf) for a in args):
        return JSDate(math.nan)
    parts = [math.trunc(a) for a in args] + [0] * (7 - len(args))
    year, month, day = parts[0], parts[1], parts[2] if len(args) > 2 else 1
    if 0 <= year <= 99:
        year += 1900
    year += month // 12
    month %= 12
    days = _days_from_civil(year, month + 1, 1) + day - 1
    ms = ((days * 24 + parts[3]) * 60 + parts[4]) * 60_000 + parts[5] * 1000 + parts[6]
    try:
        naive = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
        offset = naive.astimezone().utcoffset() or timedelta(0)
    except (ValueError, OverflowError, OSError):
        offset = timedelta(0)
    return _date_from_ms(float(ms - offset.total_seconds() * 1000))
