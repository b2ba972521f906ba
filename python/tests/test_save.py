"""save(): layout, round trips through the reader, shared references and cycles, names, errors.
(Node importing these archives natively is tested in test/python/interop.test.ts.)"""

import json
import os
from datetime import datetime, timezone

import numpy as np
import pytest
from conftest import REPO, needs_node, run_node

from persist_archive import (
    HOLE,
    UNDEFINED,
    ArchiveError,
    InvalidNameError,
    JSBigInt,
    UnsupportedValueError,
    load,
    save,
)
from persist_archive.emit import END_MARKER
from persist_archive.writer import runtime_bytes


def test_package_layout_and_runtime_file_byte_for_byte(tmp):
    entry = save(os.path.join(tmp, "run1"), x=np.arange(500.0), small=np.arange(3))
    pkg = os.path.join(tmp, "run1")
    assert entry == os.path.join(pkg, "index.mjs")
    assert sorted(os.listdir(pkg)) == ["_arrays", "_persist_runtime.v1.mjs", "index.d.mts", "index.d.ts", "index.mjs", "package.json"]
    assert os.listdir(os.path.join(pkg, "_arrays")) == ["array_0.npy"]
    assert json.load(open(os.path.join(pkg, "package.json")))["exports"] == {".": {"types": "./index.d.mts", "import": "./index.mjs"}}
    source = os.path.join(REPO, "src", "runtime", "persist-runtime.mjs")
    if os.path.exists(source):  # the copy shipped in the Python package is the TypeScript runtime
        assert runtime_bytes() == open(source, "rb").read(), "run npm run build to refresh python/persist_archive/_runtime"
    assert open(os.path.join(pkg, "_persist_runtime.v1.mjs"), "rb").read() == runtime_bytes()
    text = open(entry).read()
    assert text.startswith("// persist-archive archive, format 2.") and text.endswith(END_MARKER + "\n")
    assert np.load(os.path.join(pkg, "_arrays", "array_0.npy")).tolist() == list(np.arange(500.0))


def test_module_layout_without_arrays_needs_no_runtime(tmp):
    entry = save(os.path.join(tmp, "m.mjs"), a={"b": [1, 2]})
    assert sorted(os.listdir(tmp)) == ["m.d.mts", "m.mjs"]
    assert load(entry) == {"a": {"b": [1, 2]}}


def test_round_trip_of_python_values(tmp):
    shared = {"s": 1}
    cyc = {"a": 1}
    cyc["self"] = cyc
    lst = [1]
    lst.append(lst)
    values = dict(
        n=[0, -0.0, 1.5, float("nan"), float("inf"), 2**53, 2**60],
        s="a\u2028</script>\ud800\U0001F600",
        d={"a": {"b": None}, "__proto__": 1, "with space": True},
        m={1: "a", (1, 2): "tuple keys become arrays"} if False else {1: "a", 2.5: "b"},
        t=(1, (2, 3)),
        st={1, 2, "x"},
        shared=[shared, shared],
        cyc=cyc,
        lst=lst,
        holes=[1, HOLE, UNDEFINED],
        when=datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc),
        raw=b"\x00\x01",
        big=JSBigInt(3),
        f=np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        c=np.array([1 + 2j]),
        b=np.array([True]),
        h=np.array([1.5], dtype=np.float16),
        ext=np.arange(1000, dtype=np.uint16),
        scalar=np.float32(0.5),
    )
    got = load(save(os.path.join(tmp, "rt"), **values))
    assert got["n"][:3] == [0, 0.0, 1.5] and str(got["n"][1]) == "-0.0" and got["n"][3] != got["n"][3]
    assert got["n"][5] == 2**53 and got["n"][6] == 2**60 and isinstance(got["n"][6], JSBigInt)
    assert got["s"] == values["s"] and got["d"] == values["d"] and got["m"] == {1: "a", 2.5: "b"}
    assert got["t"] == [1, [2, 3]] and got["st"] == {1, 2, "x"}
    assert got["shared"][0] is got["shared"][1]
    assert got["cyc"]["self"] is got["cyc"] and got["lst"][1] is got["lst"]
    assert got["holes"] == [1, HOLE, UNDEFINED] and got["when"] == values["when"] and got["raw"] == bytearray(b"\x00\x01")
    assert got["f"].tolist() == values["f"].tolist() and got["f"].flags.f_contiguous
    assert got["c"].tolist() == [1 + 2j] and got["b"].dtype == bool and got["h"].dtype == np.float16
    assert got["ext"].dtype == np.uint16 and got["ext"].tolist() == list(range(1000)) and got["scalar"] == 0.5


def test_deep_nesting_is_split_into_statements(tmp):
    deep = []
    cur = deep
    for _ in range(3000):
        nxt = []
        cur.append(nxt)
        cur = nxt
    got = load(save(os.path.join(tmp, "deep"), deep=deep))["deep"]
    for _ in range(3000):
        got = got[0]
    assert got == []
    longest = max(len(line) for line in open(os.path.join(tmp, "deep", "index.mjs")))
    assert longest < 1000


@pytest.mark.parametrize("name", ["_private", "class", "1x", "a-b", "await", ""])
def test_export_names_are_checked(tmp, name):
    with pytest.raises(InvalidNameError):
        save(os.path.join(tmp, "x"), **{name: 1})


@needs_node
def test_names_like_globals_are_bound_privately_and_import_in_node(tmp):
    """`Map`, `JSON`, `Math`, `eval`, `NaN`, `undefined` are export names like any other: each is
    bound privately (`const _Map = …; export { _Map as Map };`) so the module's own uses of the
    global (a Map literal, -0, NaN) still mean the global, in Node's import, Node's load() and ours."""
    shared = {"k": 1}
    values = {
        "Map": {"sin": 42, "shared": shared},
        "JSON": {"parse": 1},
        "Math": [-0.0, float("nan"), shared],
        "eval": 5,
        "NaN": "not a number",
        "undefined": UNDEFINED,
        "Symbol": {"iterator": "x"},
        "plain": shared,
    }
    path = os.path.join(tmp, "globals")
    save(path, **values)
    text = open(os.path.join(path, "index.mjs")).read()
    assert "export { _Map as Map };" in text and "export const Map" not in text
    back = load(path)
    assert back["Map"] == values["Map"] and back["JSON"] == {"parse": 1} and back["eval"] == 5
    assert back["Math"][2] is back["plain"] is back["Map"]["shared"]
    assert back["undefined"] is UNDEFINED and back["NaN"] == "not a number"
    out = run_node(
        "const pkg = await import(PKG); const dir = process.argv[1];"
        "const show = (m) => [m.Map.sin, m.JSON.parse, Object.is(m.Math[0], -0), Number.isNaN(m.Math[1]),"
        " m.Math[2] === m.plain, m.eval, m.NaN, m.undefined === undefined, 'undefined' in m, m.Symbol.iterator];"
        "const native = await import(dir + '/index.mjs'); const safe = await pkg.load(dir);"
        "console.log(JSON.stringify([show(native), show(safe)]));",
        path,
    )
    expected = [42, 1, True, True, True, 5, "not a number", True, True, "x"]
    assert json.loads(out) == [expected, expected]


def test_unsupported_values_name_their_path(tmp):
    with pytest.raises(UnsupportedValueError, match=r"a\.b\[1\]"):
        save(os.path.join(tmp, "x"), a={"b": [1, object()]})
    with pytest.raises(UnsupportedValueError, match="dtype"):
        save(os.path.join(tmp, "x"), a=np.array(["s"]))
    assert not os.path.exists(os.path.join(tmp, "x"))


def test_existing_archives_are_kept_unless_forced(tmp):
    path = os.path.join(tmp, "run")
    save(path, a=1)
    with pytest.raises(ArchiveError, match="already exists"):
        save(path, a=2)
    assert load(path) == {"a": 1}
    save(path, _force=True, a=2)
    assert load(path) == {"a": 2}
    assert [f for f in os.listdir(tmp) if f.startswith(".")] == []


@needs_node
def test_node_imports_a_saved_archive_natively(tmp):
    path = os.path.join(tmp, "run")
    save(path, a={"b": [1, 2]}, x=np.arange(300.0).reshape(10, 30))
    out = run_node(
        "const m = await import(process.argv[1] + '/index.mjs'); console.log(JSON.stringify([m.a, m.x.shape, m.x.data[299]]));",
        path,
    )
    assert json.loads(out) == [{"b": [1, 2]}, [10, 30], 299]
