"""Read speed of the pure-Python archive reader against json.load of the same data.

    node python/bench/make_records.mjs /tmp/records-bench 50     # writes the archive + JSON
    PYTHONPATH=python /usr/bin/python3 python/bench/read_speed.py /tmp/records-bench
"""

import json
import os
import sys
import time

from persist_archive import load


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    folder = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    entry = os.path.join(folder, "records", "index.mjs")
    js = os.path.join(folder, "records.json")
    mb = os.path.getsize(entry) / 1e6
    jmb = os.path.getsize(js) / 1e6

    def read_json():
        with open(js, "rb") as f:
            return json.load(f)

    t_archive = best(lambda: load(os.path.join(folder, "records")), repeat)
    t_json = best(read_json, repeat)
    assert load(os.path.join(folder, "records"))["records"] == read_json()
    print(f"archive: {mb:.1f} MB in {t_archive:.2f} s = {mb / t_archive:.1f} MB/s")
    print(f"json.load: {jmb:.1f} MB in {t_json:.2f} s = {jmb / t_json:.1f} MB/s")
    print(f"ratio (archive read time / json.load time, same records): {t_archive / t_json:.2f}x")


if __name__ == "__main__":
    main()
