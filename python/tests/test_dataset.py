"""DataSet: reading formats 1 and 2, inserting under the shared lock, torn tails, stale locks."""

import json
import os
import socket
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from conftest import HERE

from persist_archive import ArchiveError, DataSet, FormatError, LockTimeoutError, NotFoundError, ReadOnlyError
from persist_archive.dataset import LOCK_FILE, info_expression, info_operation
from persist_archive.lock import acquire_lock, new_owner


def test_create_insert_read(tmp):
    path = os.path.join(tmp, "sweep.ds")
    ds = DataSet(path, mode="w")
    assert ds.insert({"x": np.arange(200.0), "n": 1}, info={"n": 1}) == "x_0"
    assert ds.insert([1, 2]) == "x_1"
    r = DataSet(path)
    assert r.keys() == ["x_0", "x_1"] and len(r) == 2 and list(r) == ["x_0", "x_1"] and "x_1" in r and "x_9" not in r
    assert r.infos() == {"x_0": {"n": 1}, "x_1": None} and r.info("x_0") == {"n": 1}
    assert r["x_1"] == [1, 2] and r.get("x_0")["x"].tolist() == list(np.arange(200.0))
    lazy = r.get("x_0", lazy=True)["x"]
    assert isinstance(lazy, np.memmap) and lazy[199] == 199
    assert dict(r.items()) == r.infos()
    with pytest.raises(NotFoundError):
        r["x_9"]
    with pytest.raises(NotFoundError):
        r.info("x_9")
    with pytest.raises(ReadOnlyError):
        r.insert(1)
    ds.set_info("x_1", {"late": True})
    assert r.info("x_1") == {"late": True}
    with open(os.path.join(path, "index.mjs")) as f:
        lines = f.read().splitlines()
    assert lines[3:] == ['info["x_0"] = { n: 1 };', 'info["x_1"] = null;', 'info["x_1"] = { late: true };']
    assert not os.path.exists(os.path.join(path, LOCK_FILE))


def test_opening_what_is_not_a_dataset(tmp):
    with pytest.raises(NotFoundError):
        DataSet(os.path.join(tmp, "missing"))
    other = os.path.join(tmp, "other")
    os.makedirs(other)
    open(os.path.join(other, "keep.txt"), "w").close()
    with pytest.raises(ArchiveError, match="not a DataSet"):
        DataSet(other, mode="w")
    assert os.listdir(other) == ["keep.txt"]
    open(os.path.join(tmp, "file"), "w").close()
    with pytest.raises(ArchiveError, match="is a file"):
        DataSet(os.path.join(tmp, "file"))
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    DataSet(empty, mode="w").insert(1)
    assert DataSet(empty).keys() == ["x_0"]


def test_format_1_torn_tail_is_ignored_then_repaired(tmp):
    path = os.path.join(tmp, "ds")
    ds = DataSet(path, mode="w")
    ds.insert("a", info={"i": 0})
    with open(os.path.join(path, "index.mjs"), "a") as f:
        f.write('info["x_1"] = { i: ')  # a writer died mid-line
    assert DataSet(path).keys() == ["x_0"]
    assert ds.insert("b", info={"i": 1}) == "x_1"
    assert DataSet(path).infos() == {"x_0": {"i": 0}, "x_1": {"i": 1}}


def test_names_are_never_reused_after_a_delete(tmp):
    path = os.path.join(tmp, "ds")
    ds = DataSet(path, mode="w")
    ds.insert(1)
    ds.insert(2)
    with open(os.path.join(path, "index.mjs"), "a") as f:
        f.write('delete info["x_1"];\n')
    assert DataSet(path).keys() == ["x_0"]
    assert ds.insert(3) == "x_2"


def record(ops):
    body = json.dumps(ops, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def format2(tmp):
    path = os.path.join(tmp, "v2.ds")
    os.makedirs(path)
    with open(os.path.join(path, ".persist-dataset.json"), "w") as f:
        f.write('{"format":"persist-archive DataSet","version":2}\n')
    with open(os.path.join(path, "x_0.mjs"), "w") as f:
        f.write("export const x_0 = 1;\nexport default x_0;\n")
    with open(os.path.join(path, "x_1.v0a1b2c3d.mjs"), "w") as f:
        f.write("export const x_1 = [2];\nexport default x_1;\n")
    with open(os.path.join(path, "index.journal"), "wb") as f:
        f.write(b"persist-archive DataSet journal 2\n")
        f.write(record([{"set": "x_0", "info": {"n": 0}}]))
        f.write(record([{"set": "x_1", "expr": 'new Map([[1, "a"]])', "module": "x_1.v0a1b2c3d.mjs"}, {"set": "gone", "info": None}]))
        f.write(record([{"delete": "gone"}]))
    return path


def test_format_2_journal(tmp):
    path = format2(tmp)
    ds = DataSet(path)
    assert ds.keys() == ["x_0", "x_1"]
    assert ds.infos() == {"x_0": {"n": 0}, "x_1": {1: "a"}}
    assert ds["x_0"] == 1 and ds["x_1"] == [2]  # the module the journal names
    journal = os.path.join(path, "index.journal")
    with open(journal, "ab") as f:
        f.write(b"0000abcd [{\"set\":")  # a torn tail: ignored
    assert ds.keys() == ["x_0", "x_1"]
    w = DataSet(path, mode="w")
    name = w.insert({"v": 3}, info={"n": 3, "when": float("nan")})
    assert name == "x_2" and not os.path.exists(os.path.join(path, ".x_2.claim"))
    lines = open(journal, "rb").read().splitlines()
    crc, body = lines[-1].split(b" ", 1)
    assert int(crc, 16) == zlib.crc32(body)
    assert json.loads(body) == [{"set": "x_2", "expr": "{ n: 3, when: NaN }"}]
    assert ds.infos()["x_2"]["n"] == 3 and ds["x_2"] == {"v": 3}
    with open(journal, "ab") as f:
        f.write(b"deadbeef [1]\n")  # damage...
        f.write(record([{"set": "x_9", "info": None}]))  # ...followed by a complete record
    with pytest.raises(FormatError, match=r"index\.journal:6"):
        ds.keys()


def test_info_encodings():
    assert info_operation({"a": [1, "x", None, True, 1.5]}, "n") == {"info": {"a": [1, "x", None, True, 1.5]}}
    assert info_operation({"d": -0.0}, "n") == {"expr": "{ d: -0 }"}
    assert info_operation({1: 2}, "n") == {"expr": "new Map([[1, 2]])"}
    assert info_expression({"s": {1}, "t": (1, 2)}, "n") == "{ s: new Set([1]), t: [1, 2] }"
    shared = [1]
    assert info_expression({"a": shared, "b": shared}, "n") == "{ a: [1], b: [1] }"
    cyc = {}
    cyc["self"] = cyc
    from persist_archive import UnsupportedValueError

    with pytest.raises(UnsupportedValueError):
        info_expression(cyc, "n")
    with pytest.raises(UnsupportedValueError):
        info_expression({"a": np.arange(3)}, "n")


def write_lock(path, owner, age=0.0):
    with open(path, "w") as f:
        json.dump(owner, f)
    if age:
        t = time.time() - age
        os.utime(path, (t, t))


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_left_by_a_dead_process_is_recovered(tmp):
    path = os.path.join(tmp, "ds")
    ds = DataSet(path, mode="w", timeout=5)
    owner = new_owner()
    owner["pid"] = dead_pid()
    owner.pop("start", None)
    write_lock(os.path.join(path, LOCK_FILE), owner)
    assert ds.insert(1) == "x_0"
    assert [f for f in os.listdir(path) if "lock" in f] == []


def test_a_live_holder_is_waited_for_and_named(tmp):
    path = os.path.join(tmp, "ds")
    DataSet(path, mode="w")
    holder = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "writer.py"), path, "hold", "30"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)},
    )
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        with pytest.raises(LockTimeoutError, match=f"process {holder.pid} "):
            DataSet(path, mode="w", timeout=0.3).insert(1)
    finally:
        holder.kill()
        holder.wait()
    # killed while holding: the next writer recovers the lock
    assert DataSet(path, mode="w", timeout=10).insert(2) == "x_0"


def test_other_hosts_locks_count_as_dead_only_when_stale(tmp):
    lock = os.path.join(tmp, "lock")
    owner = {"pid": 1, "host": socket.gethostname() + "-elsewhere", "token": "t" * 24, "time": 0}
    write_lock(lock, owner)
    with pytest.raises(LockTimeoutError, match="elsewhere"):
        acquire_lock(lock, timeout=0.2)
    write_lock(lock, owner, age=600)
    with acquire_lock(lock, timeout=2) as held:
        assert json.load(open(lock))["token"] == held.owner["token"]
    assert not os.path.exists(lock)


def test_an_unreadable_lock_is_judged_by_age(tmp):
    lock = os.path.join(tmp, "lock")
    open(lock, "w").close()
    with pytest.raises(LockTimeoutError, match="unreadable"):
        acquire_lock(lock, timeout=0.2)
    t = time.time() - 600
    os.utime(lock, (t, t))
    acquire_lock(lock, timeout=2).release()


def test_python_processes_insert_concurrently(tmp):
    path = os.path.join(tmp, "ds")
    DataSet(path, mode="w")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(HERE)}
    procs = [
        subprocess.Popen([sys.executable, os.path.join(HERE, "writer.py"), path, "insert", "25", tag], stdout=subprocess.PIPE, text=True, env=env)
        for tag in "abc"
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    names = [n for out in outputs for n in out]
    assert len(names) == 75 and len(set(names)) == 75
    ds = DataSet(path)
    assert sorted(ds.keys()) == sorted(names)
    for name in ds.keys():
        value = ds[name]
        assert ds.info(name) == {"tag": value["tag"], "i": value["i"]}


@pytest.mark.skipif(not hasattr(os, "fork") or not os.path.exists("/proc/self/stat"), reason="needs fork and /proc")
def test_a_forked_writer_presents_its_own_start_time(tmp):
    """multiprocessing forks on Linux: a child that presented its parent's start time with its own
    pid was judged dead by every other writer, which then took its lock while it was held."""
    from persist_archive.lock import is_owner_dead, process_start_time, process_tag, read_owner_file

    lock = os.path.join(tmp, "lock")
    new_owner()  # the parent's start time is read (and cached) before the fork
    process_tag()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hold the lock until the parent has looked, report its temp-name tag
        code = 1
        try:
            os.close(read_end)
            with acquire_lock(lock, timeout=5):
                os.write(write_end, f"{process_tag()}\n".encode())
                time.sleep(2)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as r:
            tag = r.readline().strip()
        assert tag == f"{pid}-{process_start_time(pid)}"
        found = read_owner_file(lock)
        assert found is not None and found[0]["pid"] == pid
        assert found[0]["start"] == process_start_time(pid)
        assert not is_owner_dead(found, stale=300), "a live forked holder must not count as dead"
        from persist_archive.lock import temp_path_for

        assert f".{tag}." not in temp_path_for(os.path.join(tmp, "x")), "the parent's own tag differs"
        assert f".{process_tag()}." in temp_path_for(os.path.join(tmp, "x"))
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("expr", ["1, 2", "0; export const info = 666", "1; export const other = 2", "[1", "1 /*", ""])
def test_an_info_record_that_is_not_one_expression_is_an_error_and_touches_no_other(tmp, expr):
    path = format2(tmp)
    w = DataSet(path, mode="w")
    w.insert(3, info={"when": float("nan")})  # an expr info after the hostile one: x_2
    with open(os.path.join(path, "index.journal"), "ab") as f:
        f.write(record([{"set": "x_0", "expr": expr}]))
    ds = DataSet(path)
    with pytest.raises(ArchiveError, match="at "):
        ds.info("x_0")
    with pytest.raises(ArchiveError):
        ds.infos()
    assert ds.info("x_1") == {1: "a"}
    assert np.isnan(ds.info("x_2")["when"])
