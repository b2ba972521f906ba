import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from persist_archive.reader import Reader  # noqa: E402


def read(text: str, file: str = "test.mjs"):
    """Exports of an archive-language text (no external arrays)."""
    return Reader(text, file).read()


@pytest.fixture
def tmp(tmp_path):
    return str(tmp_path)


def node_available() -> bool:
    return shutil.which("node") is not None and os.path.exists(os.path.join(REPO, "dist", "index.js"))


def run_node(script: str, *args: str) -> str:
    """Runs an ES module script with the built TypeScript package (dist/) importable as PKG."""
    code = script.replace("PKG", repr(os.path.join(REPO, "dist", "index.js")))
    res = subprocess.run(["node", "--input-type=module", "-e", code, *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    if res.returncode != 0:
        raise AssertionError(f"node failed: {res.stderr}")
    return res.stdout


needs_node = pytest.mark.skipif(not node_available(), reason="node or the built dist/ is missing (npm run build)")
