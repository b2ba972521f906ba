"""Python stand-ins for JavaScript values that have no Python equivalent (see README "From Python").

They are plain records: reading an archive never runs code, so a class instance comes back as an
`Instance(module, name, args)` unless a Python factory is registered for that module and name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:  # pickles as the same singleton
        return self._name

    def __bool__(self) -> bool:
        return False


#: JavaScript `undefined`.
UNDEFINED = _Sentinel("UNDEFINED")
#: A hole in a JavaScript array (`[1, , 3]`).
HOLE = _Sentinel("HOLE")


class JSBigInt(int):
    """A JavaScript BigInt (`123n`): an int that remembers it was one, so saving writes `123n`."""

    def __repr__(self) -> str:
        return f"{int(self)}n"


class JSMap(list):
    """A JavaScript `Map` whose keys are not all hashable in Python: a list of `(key, value)` pairs."""

    def __repr__(self) -> str:
        return f"JSMap({list.__repr__(self)})"


class JSSet(list):
    """A JavaScript `Set` whose elements are not all hashable in Python: a list of the elements."""

    def __repr__(self) -> str:
        return f"JSSet({list.__repr__(self)})"


@dataclass(eq=True)
class JSRegExp:
    """A JavaScript `RegExp`: its source and flags (and `lastIndex` when not 0)."""

    source: str
    flags: str = ""
    last_index: int = 0


@dataclass(eq=False)
class JSError:
    """A JavaScript `Error` (or subclass, named by `name`), with its message, cause and own props."""

    name: str
    message: str = ""
    cause: Any = UNDEFINED
    errors: list | None = None  # AggregateError's errors
    props: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JSSymbol:
    """`Symbol.for(key)` (registered) or a well-known symbol such as `Symbol.iterator`."""

    key: str
    well_known: bool = False


@dataclass(eq=True)
class JSBoxed:
    """A boxed primitive: `new Number(1)`, `new String("s")`, `Object(1n)`."""

    value: Any


@dataclass(frozen=True)
class JSFunction:
    """A function the archive names: a global path (`Math.sin`) or an import (module, name)."""

    name: str
    module: str | None = None


@dataclass(eq=False)
class JSDataView:
    """A JavaScript `DataView`: its buffer (a bytearray, shared with other views) and its window."""

    buffer: bytearray
    byte_offset: int
    byte_length: int


@dataclass(eq=False)
class Instance:
    """An instance of a class imported from `module` (or built by `name.factory(...)`), unresolved."""

    module: str
    name: str
    args: list
    factory: str | None = None


@dataclass(eq=False)
class JSDate:
    """A JavaScript Date that `datetime` cannot hold: invalid (`new Date(NaN)`, time NaN) or
    outside years 1..9999. `time` is milliseconds since 1970-01-01T00:00:00Z."""

    time: float

    @property
    def valid(self) -> bool:
        return self.time == self.time


_factories: dict[tuple[str, str], Callable[..., Any]] = {}


def register(module: str, name: str, factory: Callable[..., Any]) -> None:
    """Build instances of `name` imported from `module` with `factory(*args)` when reading."""
    _factories[(module, name)] = factory


def factory_for(module: str, name: str) -> Callable[..., Any] | None:
    return _factories.get((module, name))
