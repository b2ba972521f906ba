"""Child process for the cross-language DataSet tests (test/python/concurrent.test.ts and pytest).

    writer.py DIR insert COUNT TAG   insert COUNT items {tag, i, pid} with info {tag, i}; print names
    writer.py DIR hold SECONDS       take the write lock, print LOCKED, keep it SECONDS, release
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from persist_archive import DataSet  # noqa: E402
from persist_archive.lock import acquire_lock  # noqa: E402

folder, command = sys.argv[1], sys.argv[2]
ds = DataSet(folder, mode="w", timeout=30)
if command == "insert":
    count, tag = int(sys.argv[3]), sys.argv[4]
    for i in range(count):
        name = ds.insert({"tag": tag, "i": i, "pid": os.getpid()}, info={"tag": tag, "i": i})
        print(name, flush=True)
elif command == "hold":
    with acquire_lock(os.path.join(ds.path, ".persist-dataset.lock")):
        print("LOCKED", flush=True)
        time.sleep(float(sys.argv[3]))
    print("RELEASED", flush=True)
else:
    raise SystemExit(f"unknown command {command}")
