"""The README's "From Python" code block runs as written (the Node doc test skips Python blocks)."""

import os
import re
import subprocess
import sys

from conftest import HERE, REPO

from persist_archive import DataSet, save


def test_readme_python_block_runs(tmp):
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "README has a ```python block"
    DataSet(os.path.join(tmp, "sweep.ds"), mode="w").insert({"y": 1}, info={"n": 1})
    save(os.path.join(tmp, "results", "run1"), a=1)
    for code in blocks:
        res = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)},
        )
        assert res.returncode == 0, res.stderr
    assert DataSet(os.path.join(tmp, "sweep.ds")).keys() == ["x_0", "x_1"]
    assert os.path.exists(os.path.join(tmp, "out", "run2", "index.mjs")) and os.path.exists(os.path.join(tmp, "out", "run3.mjs"))
