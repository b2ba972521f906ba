"""The reader of the archive language: every value form, hand edits inside the language, and the
same refusals as the TypeScript load() (typed errors with file:line:column)."""

import math
from datetime import datetime, timezone

import numpy as np
import pytest
from conftest import read

from persist_archive import (
    HOLE,
    UNDEFINED,
    ArchiveError,
    FormatError,
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
    UnsafeArchiveError,
    register,
)
from persist_archive.loader import check_complete


def one(expr: str):
    return read(f"export const x = {expr};\n")["x"]


def test_primitives_and_numbers():
    assert one("null") is None and one("undefined") is UNDEFINED and one("true") is True
    assert one("1") == 1 and isinstance(one("1"), int)
    assert isinstance(one("1.5"), float) and one("1e+300") == 1e300 and one("1e-7") == 1e-7
    assert math.copysign(1, one("-0")) < 0 and math.isnan(one("NaN")) and one("-Infinity") == -math.inf
    assert one("0x1f") == 31 and one("0o17") == 15 and one("0b101") == 5 and one("1_000") == 1000
    assert one(".5") == 0.5 and one("+1") == 1 and one("5.") == 5.0
    assert one("123n") == 123 and isinstance(one("123n"), JSBigInt) and one("-123n") == -123
    assert one("9007199254740993") == 9007199254740992.0  # beyond 2^53 a JS number is a double


def test_strings():
    assert one('"a\\nb\\t\\u0041\\x42\\u{1F600}"') == "a\nb\tAB\U0001F600"
    assert one("'single \\' quote'") == "single ' quote"
    assert one('"\\ud83d\\ude00"') == "\U0001F600"  # an escaped surrogate pair is one character
    assert one('"\\ud800"') == "\ud800"  # a lone surrogate stays
    assert one('"\\u003c/script>\\u2028"') == "</script>\u2028"
    assert one('"line \\\ncontinued"') == "line continued"
    with pytest.raises(UnsafeArchiveError, match="octal"):
        one('"\\1"')
    with pytest.raises(UnsafeArchiveError, match="unterminated string"):
        one('"abc')


def test_containers_and_holes():
    assert one("[1, , 3]") == [1, HOLE, 3]
    assert one("[1, ,]") == [1, HOLE]
    assert one('{ a: 1, "b-c": 2, 3: "x", ["__proto__"]: 4, default: 5, }') == {"a": 1, "b-c": 2, "3": "x", "__proto__": 4, "default": 5}
    assert one("{ __proto__: null, a: 1 }") == {"a": 1}
    sparse = one('Object.assign([], { 7: "x", length: 10 })')
    assert len(sparse) == 10 and sparse[7] == "x" and sparse[0] is HOLE
    assert one("[]") == [] and one("{}") == {}


def test_map_and_set_mapping():
    m = one('new Map([[1, "a"], ["k", null]])')
    assert m == {1: "a", "k": None}
    objkey = one('new Map([[{ k: 1 }, "v"]])')
    assert isinstance(objkey, JSMap) and objkey == [({"k": 1}, "v")]
    collide = one('new Map([[1, "one"], [true, "t"]])')  # 1 == True in Python: keep both apart
    assert isinstance(collide, JSMap) and len(collide) == 2
    assert one('new Set([1, "x"])') == {1, "x"}
    assert isinstance(one("new Set([[1]])"), JSSet)
    assert one("new Map()") == {} and one("new Set()") == set()


def test_dates_regexps_errors_boxed_symbols():
    assert one('new Date("2020-01-02T03:04:05.006Z")') == datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)
    assert one('new Date("2020-01-02")') == datetime(2020, 1, 2, tzinfo=timezone.utc)
    assert one("new Date(0)") == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert isinstance(one("new Date(NaN)"), JSDate) and not one("new Date(NaN)").valid
    assert one('new Date("+275760-09-13T00:00:00.000Z")').time == 8.64e15
    assert not one('new Date("not a date")').valid
    assert one('Object.assign(new RegExp("a+b", "gi"), { lastIndex: 3 })') == JSRegExp("a+b", "gi", 3)
    err = one('Object.assign(new TypeError("bad", { cause: 1 }), { code: "E1" })')
    assert isinstance(err, JSError) and (err.name, err.message, err.cause, err.props) == ("TypeError", "bad", 1, {"code": "E1"})
    agg = one('new AggregateError([new Error("x")], "m")')
    assert agg.name == "AggregateError" and agg.errors[0].message == "x"
    assert one("new Number(1)") == JSBoxed(1) and one('new String("s")') == JSBoxed("s") and one("Object(1n)") == JSBoxed(1)
    assert one('Symbol.for("k")') == JSSymbol("k") and one("Symbol.iterator") == JSSymbol("iterator", True)
    assert one("Math.sin") == JSFunction("Math.sin")


def test_typed_arrays_buffers_and_ndarrays():
    a = one("new Float64Array([1, 2.5])")
    assert a.dtype == np.float64 and a.tolist() == [1, 2.5]
    assert one("new Int8Array([300, -129])").tolist() == [44, 127]  # ToInt8 wraps like JS
    assert one("new Uint8ClampedArray([300, -5, 1.5])").tolist() == [255, 0, 2]
    assert one("new BigInt64Array([-1n, 5n])").tolist() == [-1, 5]
    assert one("new Uint8Array([1, 2, 3]).buffer") == bytearray(b"\x01\x02\x03")
    assert one("new ArrayBuffer(4)") == bytearray(4)
    ex = read(
        "const _g0 = new ArrayBuffer(16);\n"
        "export const f = new Float64Array(_g0, 8, 1);\n"
        "export const u = new Uint8Array(_g0);\n"
        "export const d = new DataView(_g0, 2, 4);\n"
    )
    ex["f"][0] = 1.0  # views share their buffer, as in JS
    assert ex["u"][8:].tobytes() == np.float64(1.0).tobytes()
    assert isinstance(ex["d"], JSDataView) and ex["d"].buffer is ex["u"].base.obj
    # resizable buffers (with contents), lone subarrays, length-tracking views
    rs = read(
        "const _g0 = Object.assign(new Uint8Array(new ArrayBuffer(8, { maxByteLength: 64 })), [1, 2, 3]).buffer;\n"
        "export const b = _g0;\n"
        "export const tail = new Uint8Array(_g0, 3);\n"
        "export const lone = new Uint16Array(new Uint16Array([10, 20, 30, 40]).buffer, 2, 2);\n"
        "export const v = new Float64Array(_g0, 0, 1).buffer;\n"
    )
    assert rs["b"] == bytearray([1, 2, 3, 0, 0, 0, 0, 0]) and rs["tail"].size == 5 and rs["v"] is rs["b"]
    assert rs["lone"].tolist() == [20, 30]
    nd = read(
        'import { NDArray as _NDArray } from "./_persist_runtime.v1.mjs";\n'
        'export const a = new _NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3], { order: "F" });\n'
        'export const c = new _NDArray(new Float64Array([1, 2]), [1], { dtype: "<c16" });\n'
        'export const b = new _NDArray(new Uint8Array([1, 0]), [2], { dtype: "|b1" });\n'
        'export const h = new _NDArray(new Uint16Array([15360]), [1], { dtype: "<f2" });\n'
        "export const d = a.data;\n"
    )
    assert nd["a"].tolist() == [[1, 3, 5], [2, 4, 6]] and nd["a"].flags.f_contiguous
    assert nd["c"].tolist() == [1 + 2j] and nd["b"].tolist() == [True, False] and nd["h"].tolist() == [1.0]
    assert nd["d"].tolist() == [1, 2, 3, 4, 5, 6]
    with pytest.raises(FormatError, match="needs 6 elements"):
        read('import { NDArray as _N } from "./_persist_runtime.v1.mjs";\nexport const a = new _N(new Float64Array([1]), [2, 3]);\n')


def test_shared_references_cycles_patches_and_deletes():
    ex = read(
        'const _g0 = { name: "shared" };\n'
        "export const a = { x: _g0, y: _g0, self: undefined };\n"
        "a.self = a;\n"
        'export const m = new Map([["k", 1]]);\n'
        "m.set(m, a);\n"
        "export const s = new Set([1]);\n"
        "s.add(s);\n"
        "export const l = [1, 2];\n"
        "l[2] = l;\n"
        'delete a["y"];\n'
        "export default a;\n"
    )
    a = ex["a"]
    assert a["self"] is a and "y" not in a and ex["default"] is a
    assert isinstance(ex["m"], JSMap) and ex["m"][1][0] is ex["m"] and ex["m"][1][1] is a  # key became unhashable
    assert isinstance(ex["s"], JSSet) and ex["s"][1] is ex["s"]
    assert ex["l"][2] is ex["l"]


def test_export_lists_and_global_names():
    ex = read("const _Map = 1;\nconst b = 2;\nexport { _Map as Map, b, b as default };\n")
    assert ex == {"Map": 1, "b": 2, "default": 2}
    assert read("export const JSON = 1;\n") == {"JSON": 1}


def test_imports_instances_and_factories():
    text = 'import { Point as _Point, Day as _Day } from "geometry-lib";\nexport const p = new _Point(1, 2);\nexport const d = _Day.from("2020-01-01");\nexport const f = _Point;\n'
    ex = read(text)
    assert isinstance(ex["p"], Instance) and (ex["p"].module, ex["p"].name, ex["p"].args) == ("geometry-lib", "Point", [1, 2])
    assert ex["d"].factory == "from" and ex["f"] == JSFunction("Point", "geometry-lib")
    register("geometry-lib", "Point", lambda x, y: ("point", x, y))
    try:
        assert read(text)["p"] == ("point", 1, 2)
    finally:
        from persist_archive.values import _factories

        _factories.clear()


def test_hand_edits_inside_the_language():
    ex = read("/* c */ export const a = { b: 1, } // note\nexport const c = [1, 2,]\n;;export const d = 'x'")
    assert ex == {"a": {"b": 1}, "c": [1, 2], "d": "x"}


@pytest.mark.parametrize(
    "text,found",
    [
        ('export const x = import("fs");', "import("),
        ("export const x = eval;", "eval"),
        ("export const x = this;", "this"),
        ("export const x = () => 1;", "`(`"),
        ("export const x = a => 1;", "`a`"),
        ("export const x = `t`;", "template"),
        ("export const x = /re/;", "regular expression"),
        ("export const x = 1 + 2;", "+"),
        ("export const x = [...a];", "spread"),
        ("const a = 1; export const x = { a };", "shorthand"),
        ("export const x = { get a() { return 1; } };", "getters"),
        ("export const x = { __proto__: {} };", "__proto__"),
        ("export const x = Function;", "Function"),
        ("export const x = globalThis;", "globalThis"),
        ("export const x = process;", "process"),
        ('import { readFileSync } from "node:fs";', "node:fs"),
        ("export const x = await 1;", "await"),
        ("export const x = import.meta;", "`import.`"),
        ('import { loadArrays as _l } from "./_persist_runtime.v1.mjs";\nconst _a = await _l(import.meta.url, "../x", "npy", []);', "inside the archive folder"),
        ('import { loadArrays as _l } from "./_persist_runtime.v1.mjs";\nconst _a = await _l(import.meta.url, "./x", "zip", []);', "unknown array format"),
        ("export const x = new Function('1');", "new Function"),
        ("export const x = Object.keys({});", "Object.keys"),
        ("export const x = 1; export const x = 2;", "bound twice"),
        ("export const x = 010;", "octal"),
        ("function f() {}", "function"),
        ('import { f as _f } from "lib"; export const then = _f;', "then"),
        ("export const x = new Date();", "clock"),
        ("const a = 1; a.b = 2;", "cannot be patched"),
    ],
)
def test_refusals_name_file_line_column(text, found):
    with pytest.raises(UnsafeArchiveError) as info:
        read("// header\n" + text, "/archives/run.mjs")
    msg = str(info.value)
    assert found in msg, msg
    assert "/archives/run.mjs:2:" in msg or "/archives/run.mjs:3:" in msg
    assert info.value.file == "/archives/run.mjs" and info.value.line >= 2 and info.value.column >= 1
    assert isinstance(info.value, ArchiveError)


def test_depth_limit_and_work_budget():
    value = one("[" * 4000 + "]" * 4000)
    for _ in range(3999):
        value = value[0]
    assert value == []
    with pytest.raises(UnsafeArchiveError, match="nesting deeper"):
        one("[" * 5001 + "]" * 5001)
    with pytest.raises(UnsafeArchiveError, match="byte length"):
        one("new ArrayBuffer(1000000000000)")
    with pytest.raises(UnsafeArchiveError, match="work budget"):
        one("new Float64Array(1000000000)")
    with pytest.raises(UnsafeArchiveError, match="work budget"):
        one('Object.assign([], { length: 4294967295 })')


def test_format_2_truncation():
    head = "// persist-archive archive, format 2. A plain ES module.\n"
    check_complete(head + "export const x = 1;\n// persist-archive: end of archive\n", "a.mjs")
    check_complete("// persist-archive archive, format 1.\nexport const x = 1;\n", "a.mjs")  # format 1: no marker
    with pytest.raises(FormatError, match="truncated"):
        check_complete(head + "export const x = 1;\n", "a.mjs")
    with pytest.raises(FormatError, match="truncated"):
        check_complete(head + "export const x = [1,\n", "a.mjs")
