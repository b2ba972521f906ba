"""The DataSet write lock, taken exactly as the TypeScript writers take it (src/store/lock.ts and
owner.ts), so Python and Node processes can write one DataSet at the same time.

The lock is an owner file (JSON: pid, host, random token, time, process start time) created
atomically: written to a temp file beside it and hard-linked into place (link fails if the lock
exists). A holder refreshes the file's mtime (heartbeat) while it holds it. A lock is taken over
only when its holder is provably dead: on this host its pid is gone or belongs to a process started
at another time; on another host its heartbeat is older than `stale` seconds. Removing a stale lock
with token T first requires winning the exclusive claim file `<lock>.takeover.<T>` and re-reading
the lock under the claim, so two processes can never both remove it (one of them a fresh live lock).
"""

from __future__ import annotations

import errno
import json
import os
import random
import secrets
import socket
import threading
import time
from typing import Any

from .errors import LockTimeoutError

DEFAULT_TIMEOUT = 60.0
DEFAULT_STALE = 300.0
DEFAULT_HEARTBEAT = 10.0
MAX_POLL = 0.010


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux /proc), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2 :].split(" ")
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def new_owner() -> dict[str, Any]:
    owner: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "token": secrets.token_hex(12),
        "time": int(time.time() * 1000),
    }
    start = own_start_time()
    if start is not None:
        owner["start"] = start
    return owner


_STARTS: dict[int, int | None] = {}


def own_start_time() -> int | None:
    """This process's start time, read once per pid: a forked child (multiprocessing's default
    on Linux) has its own pid and start time, and must not present its parent's, or other
    processes would judge its locks and claims dead (same pid check, other start time)."""
    pid = os.getpid()
    if pid not in _STARTS:
        _STARTS[pid] = process_start_time(pid)
    return _STARTS[pid]


def process_tag() -> str:
    """This process's tag in temp names: `<pid>-<start time>` on Linux, else `<pid>`.

    The start time lets a DataSet's write-open cleanup tell a dead writer's temp file from a live
    one's even after the pid was reused (docs/dataset-format.md, "Writing").
    """
    start = own_start_time()
    return str(os.getpid()) if start is None else f"{os.getpid()}-{start}"


def temp_path_for(target: str) -> str:
    d, base = os.path.split(target)
    return os.path.join(d, f".{base}.{process_tag()}.{secrets.token_hex(4)}.tmp")


def _write_new(path: str, text: bytes) -> None:
    """Creates `path` (FileExistsError if it exists) holding `text`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text)
    finally:
        os.close(fd)


def create_owner_file(path: str, owner: dict[str, Any]) -> None:
    """Creates `path` holding `owner`; FileExistsError if it exists. Never visible half-written."""
    text = (json.dumps(owner, separators=(",", ":")) + "\n").encode()
    tmp = temp_path_for(path)
    _write_new(tmp, text)
    try:
        try:
            os.link(tmp, path)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            _write_new(path, text)  # no hard links here: exclusive create is the claim
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def read_owner_file(path: str) -> tuple[dict | None, float, int] | None:
    """(owner or None when unreadable, mtime in ms, inode), or None when `path` does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        data = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    owner = None
    try:
        value = json.loads(data.decode("utf-8"))
        if (
            isinstance(value, dict)
            and isinstance(value.get("pid"), (int, float))
            and isinstance(value.get("host"), str)
            and isinstance(value.get("token"), str)
        ):
            owner = value
    except (ValueError, UnicodeDecodeError):
        pass
    return owner, info.st_mtime * 1000, info.st_ino


def holding_id(found: tuple[dict | None, float, int]) -> str:
    owner, _, ino = found
    return owner["token"] if owner is not None else f"ino{ino}"


def is_owner_dead(found: tuple[dict | None, float, int], stale: float) -> bool:
    owner, mtime_ms, _ = found
    if owner is None or owner["host"] != socket.gethostname():
        return time.time() * 1000 - mtime_ms > stale * 1000
    pid = int(owner["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    start = owner.get("start")
    if isinstance(start, (int, float)):
        now_start = process_start_time(pid)
        if now_start is not None and now_start != start:
            return True
    return False


def take_over(path: str, stale_id: str, stale: float) -> None:
    """Removes the lock at `path` if it is still the holding `stale_id` (see the module comment)."""
    me = new_owner()
    dead_claims: list[tuple[str, str]] = []
    claim = f"{path}.takeover.{stale_id}"
    while True:
        try:
            create_owner_file(claim, me)
            break
        except FileExistsError:
            pass
        found = read_owner_file(claim)
        if found is None:
            continue  # its claimant finished: claim again
        if not is_owner_dead(found, stale):
            return  # a live process is taking over: let it
        dead_claims.append((claim, holding_id(found)))
        claim = f"{claim}.{holding_id(found)}"
    try:
        current = read_owner_file(path)
        if current is not None and holding_id(current) == stale_id:
            _unlink(path)
    finally:
        for dead_path, dead_id in dead_claims:
            found = read_owner_file(dead_path)
            if found is not None and holding_id(found) == dead_id:
                _unlink(dead_path)
        _unlink(claim)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class HeldLock:
    """A lock this process holds; `release()` (or leaving the `with` block) gives it back."""

    def __init__(self, path: str, owner: dict[str, Any], heartbeat: float) -> None:
        self.path = path
        self.owner = owner
        self._released = False
        self._stop = threading.Event()
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY)
        except OSError:
            self._fd = None  # holders on this host are judged by pid anyway
        self._thread = threading.Thread(target=self._beat, args=(heartbeat,), daemon=True)
        self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            if self._fd is not None:
                try:
                    os.utime(self._fd)
                except OSError:
                    pass

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._stop.set()
        self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
        found = read_owner_file(self.path)
        if found is not None and found[0] is not None and found[0].get("token") == self.owner["token"]:
            _unlink(self.path)

    def __enter__(self) -> "HeldLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire_lock(path: str, timeout: float = DEFAULT_TIMEOUT, stale: float = DEFAULT_STALE,
                 heartbeat: float = DEFAULT_HEARTBEAT) -> HeldLock:
    """Waits for and takes the lock at `path`; LockTimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    owner = new_owner()
    delay = 0.001
    while True:
        found = read_owner_file(path)
        if found is None:
            try:
                create_owner_file(path, owner)
            except FileExistsError:
                continue  # someone was faster: look at their lock
            return HeldLock(path, owner, heartbeat)
        if is_owner_dead(found, stale):
            take_over(path, holding_id(found), stale)
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            holder = found[0]
            who = (
                "an unknown process (the lock file is unreadable)"
                if holder is None
                else f"process {holder['pid']} on host {holder['host']}"
            )
            raise LockTimeoutError(
                f"Could not get the write lock {path} within {timeout} s: it is held by {who}. Wait for that "
                "process to finish or pass a larger timeout; a lock whose holder has died is recovered "
                "automatically, so delete the file by hand only if you are sure that process is gone.",
                file=path,
            )
        time.sleep(min(left, delay * (0.5 + random.random())))
        delay = min(delay * 2, MAX_POLL)
