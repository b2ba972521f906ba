"""Safe file access for untrusted archives (the Python side of src/store/confined.ts).

A file is opened only if its real path (after symlinks) lies inside the given root folder, and only
if it is a regular file: it is opened with O_NONBLOCK (a FIFO cannot block the open) and checked
with fstat on the opened descriptor, so what is checked is what is read.
"""

from __future__ import annotations

import io
import os
import stat

from .errors import FormatError, NotFoundError


def real_root(root: str) -> str:
    return os.path.realpath(root)


def confined_path(path: str, root: str) -> str:
    """The real path of `path`, which must lie inside `root` (already a real path)."""
    real = os.path.realpath(path)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise FormatError(
            f"{path} resolves to {real}, outside the archive folder {root}; archives may only read "
            "files inside their own folder",
            file=path,
        )
    return real


def open_confined(path: str, root: str) -> io.BufferedReader:
    """Opens `path` for reading if it is a regular file inside `root`. Caller closes it."""
    real = confined_path(path, root)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist", file=path) from None
    except OSError as error:
        raise FormatError(f"cannot open {path}: {error.strerror}", file=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FormatError(f"{path} is not a regular file (archives only read regular files)", file=path)
        # Reads may block from here on like any regular file; clear O_NONBLOCK for clarity.
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_confined(path: str, root: str, limit: int | None = None) -> bytes:
    """All bytes of a regular file inside `root`, at most `limit` (FormatError beyond it)."""
    with open_confined(path, root) as f:
        size = os.fstat(f.fileno()).st_size
        if limit is not None and size > limit:
            raise FormatError(f"{path} is {size} bytes, more than the {limit} allowed here", file=path)
        data = f.read(size + 1 if limit is None else min(size, limit) + 1)
        if limit is not None and len(data) > limit:
            raise FormatError(f"{path} grew beyond the {limit} bytes allowed here", file=path)
        return data
