"""Errors, mirroring the TypeScript package's ArchiveError hierarchy (src/errors.ts).

Every error raised on purpose is an ArchiveError, so callers can tell "the archive or the input is
wrong" from bugs. Messages say what went wrong, where (file:line:column, value path) and what to do.
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class of every deliberate error of persist_archive."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, value_path: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.value_path = value_path


class InvalidNameError(ArchiveError):
    """A name is not a valid identifier, is reserved, or starts with "_"."""


class DuplicateError(ArchiveError):
    """A different value was given under a name that is already taken."""


class UnsupportedValueError(ArchiveError):
    """A value cannot be archived (an arbitrary object, a function, ...)."""


class FormatError(ArchiveError):
    """A data file (npy, npz, hdf5) or an archive file is malformed or truncated."""


class UnsafeArchiveError(ArchiveError):
    """The reader met something outside the archive language (docs/archive-language.md)."""


class NotFoundError(ArchiveError, LookupError):
    """A name, file or directory that was asked for does not exist."""


class ReadOnlyError(ArchiveError):
    """A write was attempted on something opened read-only."""


class LockTimeoutError(ArchiveError):
    """The write lock could not be obtained in time."""
