"""DataSet.infos() of 10,000 items (format 1 index written by the Python writer's own format).

    PYTHONPATH=python /usr/bin/python3 python/bench/infos_speed.py /tmp/infos-bench [N]
"""

import os
import sys
import time

from persist_archive import DataSet
from persist_archive.dataset import INDEX_HEADER, MARKER_TEXT, info_expression


def main() -> None:
    folder = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    os.makedirs(folder, exist_ok=True)
    # The index as writers leave it after n inserts (building it by n locked inserts would time the
    # writer, not infos()).
    with open(os.path.join(folder, ".persist-dataset.json"), "w") as f:
        f.write(MARKER_TEXT)
    with open(os.path.join(folder, "index.mjs"), "w") as f:
        f.write(INDEX_HEADER)
        for i in range(n):
            info = {"lr": 0.001 * (i % 10), "seed": i, "tag": f"run-{i}", "ok": i % 2 == 0, "layers": [64, 32]}
            f.write(f'info["x_{i}"] = {info_expression(info, f"x_{i}")};\n')
    ds = DataSet(folder)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        infos = ds.infos()
        times.append(time.perf_counter() - t)
    assert len(infos) == n and infos["x_7"]["seed"] == 7
    print(f"infos() of {n} items: best {min(times) * 1000:.0f} ms, median {sorted(times)[2] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
