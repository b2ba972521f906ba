"""persist_archive: read and write persist-archive archives and DataSets from Python.

    from persist_archive import load, save, DataSet
    exports = load("results/run1")          # an archive (package folder or entry module)
    ds = DataSet("sweep.ds"); ds.infos()    # a DataSet: infos, items, lazy arrays
    save("out/run2", params={"n": 3}, x=np.arange(10))   # Node imports it natively

Reading never runs code from the files (see README "From Python" for the type table).
"""

from .errors import (
    ArchiveError,
    DuplicateError,
    FormatError,
    InvalidNameError,
    LockTimeoutError,
    NotFoundError,
    ReadOnlyError,
    UnsafeArchiveError,
    UnsupportedValueError,
)
from .loader import load
from .values import (
    HOLE,
    UNDEFINED,
    Instance,
    JSBigInt,
    JSBoxed,
    JSDataView,
    JSDate,
    JSError,
    JSFunction,
    JSMap,
    JSRegExp,
    JSSet,
    JSSymbol,
    register,
)

__version__ = "0.1.0"

__all__ = [
    "load",
    "save",
    "DataSet",
    "register",
    "HOLE",
    "UNDEFINED",
    "Instance",
    "JSBigInt",
    "JSBoxed",
    "JSDataView",
    "JSDate",
    "JSError",
    "JSFunction",
    "JSMap",
    "JSRegExp",
    "JSSet",
    "JSSymbol",
    "ArchiveError",
    "DuplicateError",
    "FormatError",
    "InvalidNameError",
    "LockTimeoutError",
    "NotFoundError",
    "ReadOnlyError",
    "UnsafeArchiveError",
    "UnsupportedValueError",
]


def __getattr__(name: str):  # save and DataSet are imported on first use
    if name == "save":
        from .writer import save

        return save
    if name == "DataSet":
        from .dataset import DataSet

        return DataSet
    raise AttributeError(name)
