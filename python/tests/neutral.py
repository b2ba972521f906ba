"""The neutral, tagged JSON form both languages' interop tests compare (test/python/neutral.ts is
its TypeScript twin): it describes a value *as Python sees it* under the README's type table, with
`id`/`ref` tags so shared references and cycles are compared too.

Run as a script: `python3 neutral.py PATH [--lazy]` prints the neutral form of load(PATH).
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from typing import Any

import numpy as np

from persist_archive import (
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
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


def number(x: float) -> Any:
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    if x != x:
        return {"num": "NaN"}
    if x == math.inf:
        return {"num": "Infinity"}
    if x == -math.inf:
        return {"num": "-Infinity"}
    if x == 0 and math.copysign(1, x) < 0:
        return {"num": "-0"}
    return int(x) if x.is_integer() and abs(x) <= 2**53 else x


def _elem(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (int, np.integer)):
        v = int(x)
        return v if abs(v) <= 2**53 else str(v)
    return number(float(x))


class Neutral:
    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []

    def tag(self, v: Any) -> tuple[bool, dict]:
        key = id(v)
        if key in self.ids:
            return True, {"ref": self.ids[key]}
        self.ids[key] = len(self.ids)
        self.keep.append(v)
        return False, {"id": self.ids[key]}

    def of(self, v: Any) -> Any:
        if v is None or isinstance(v, str):
            return v
        if v is UNDEFINED:
            return {"undefined": True}
        if v is HOLE:
            return {"hole": True}
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, np.integer):
            v = int(v)
            return v if abs(v) <= 2**53 else {"bigint": str(v)}
        if isinstance(v, np.floating):
            return number(float(v))
        if isinstance(v, int) and not isinstance(v, JSBigInt) and abs(v) > 2**53:
            return {"bigint": str(v)}  # save() writes such ints as BigInt
        if isinstance(v, JSBigInt):
            return {"bigint": str(int(v))}
        if isinstance(v, (int, float)):
            return number(v)
        if isinstance(v, JSSymbol):
            return {"symbol": v.key, "wellKnown": v.well_known}
        if isinstance(v, JSFunction):
            return {"function": v.name, "module": v.module}
        seen, out = self.tag(v)
        if seen:
            return out
        if isinstance(v, JSMap):
            out["jsmap"] = [[self.of(k), self.of(x)] for k, x in v]
        elif isinstance(v, dict):
            out["dict"] = [[self.of(k), self.of(x)] for k, x in v.items()]
        elif isinstance(v, JSSet):
            out["jsset"] = [self.of(x) for x in v]
        elif isinstance(v, set):
            out["set"] = sorted(json.dumps(self.of(x), sort_keys=True, separators=(",", ":")) for x in v)
        elif isinstance(v, (list, tuple)):
            out["array"] = [self.of(x) for x in v]
        elif isinstance(v, np.ndarray):
            kind = v.dtype.kind + str(v.dtype.itemsize)
            order = "F" if v.ndim > 1 and v.flags.f_contiguous and not v.flags.c_contiguous else "C"
            flat = v.reshape(-1)  # logical C order
            if v.dtype.kind == "c":
                data = [[_elem(z.real), _elem(z.imag)] for z in flat.tolist()]
            elif kind == "f2":
                data = flat.view(np.uint16).tolist()
            else:
                data = [_elem(x) for x in flat.tolist()]
            out["ndarray"] = {"dtype": "b1" if v.dtype.kind == "b" else kind, "shape": list(v.shape), "order": order, "data": data}
        elif isinstance(v, (bytes, bytearray)):
            out["bytes"] = list(v)
        elif isinstance(v, JSDataView):
            out["dataview"] = {"buffer": self.of(v.buffer), "offset": v.byte_offset, "length": v.byte_length}
        elif isinstance(v, datetime):
            out["date"] = round((v - _EPOCH).total_seconds() * 1000)
        elif isinstance(v, JSDate):
            out["date"] = "NaN" if v.time != v.time else v.time
        elif isinstance(v, JSRegExp):
            out["regexp"] = [v.source, v.flags, v.last_index]
        elif isinstance(v, JSError):
            err: dict[str, Any] = {"name": v.name, "message": v.message, "props": [[k, self.of(x)] for k, x in v.props.items()]}
            if v.cause is not UNDEFINED:
                err["cause"] = self.of(v.cause)
            if v.errors is not None:
                err["errors"] = [self.of(x) for x in v.errors]
            out["error"] = err
        elif isinstance(v, JSBoxed):
            out["boxed"] = self.of(v.value)
        elif isinstance(v, Instance):
            out["instance"] = {"module": v.module, "name": v.name, "factory": v.factory, "args": [self.of(a) for a in v.args]}
        else:
            raise TypeError(f"no neutral form for {type(v)}")
        return out


def neutral(v: Any) -> Any:
    return Neutral().of(v)


def neutral_exports(exports: dict) -> Any:
    n = Neutral()
    return [[k, n.of(v)] for k, v in exports.items()]


if __name__ == "__main__":
    from persist_archive import load

    result = load(sys.argv[1], lazy="--lazy" in sys.argv)
    sys.stdout.write(json.dumps(neutral_exports(dict(sorted(result.items()))), ensure_ascii=True))
