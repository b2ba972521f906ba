"""JavaScript number and string text: Number::toString, and string literals as the emitter writes."""

from __future__ import annotations

import json
import math
import re


def number_to_string(x: float) -> str:
    """ECMAScript Number::toString(x) (String(x)): `1e+21`, `1e-7`, `100`, `0.1`."""
    if x != x:
        return "NaN"
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    if x == 0:
        return "0"
    if isinstance(x, int):
        x = float(x)
    sign = "-" if x < 0 else ""
    r = repr(abs(x))  # shortest round-trip digits
    mantissa, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    whole, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    # position of the decimal point relative to the first significant digit
    lead = len(whole + frac) - len((whole + frac).lstrip("0"))
    n = len(whole) - lead + e
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exp_text = f"{n - 1:+d}"
    if k == 1:
        return f"{sign}{digits}e{exp_text}"
    return f"{sign}{digits[0]}.{digits[1:]}e{exp_text}"


def number_literal(x: float) -> str:
    """The archive language's literal for a number (`-0` kept; NaN/Infinity as identifiers)."""
    if x == 0 and math.copysign(1.0, x) < 0:
        return "-0"
    return number_to_string(x)


_PLAIN = re.compile(r"[\w .,:;!?@#$%^&*()+=~`'|{}\[\]-]*", re.ASCII)
_EXTRA = re.compile("[\u2028\u2029]|</")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf16_escape(m: re.Match) -> str:
    return "\\u%04x" % ord(m.group(0))


def string_literal(s: str) -> str:
    """A double-quoted JS string literal, as the TypeScript emitter writes it (JSON escapes plus
    `\\u2028`, `\\u2029`, `\\u003c/`, lone surrogates as `\\udXXX`)."""
    if len(s) < 64 and _PLAIN.fullmatch(s):
        return f'"{s}"'
    # Astral characters are fine as UTF-8; surrogate code points (lone, or a pair Python kept
    # apart) are written as escapes, which JS reads as the same UTF-16 units.
    text = json.dumps(s, ensure_ascii=False)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(_utf16_escape, text)
    if _EXTRA.search(text):
        text = _EXTRA.sub(lambda m: {"\u2028": "\\u2028", "\u2029": "\\u2029"}.get(m.group(0), "\\u003c/"), text)
    return text


_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def join_surrogates(s: str) -> str:
    """JS strings are UTF-16: a high+low surrogate pair is one character. Python keeps escaped
    surrogates apart, so pairs are joined into the astral character they spell."""
    if not _SURROGATE.search(s):
        return s
    return _PAIR.sub(lambda m: chr(0x10000 + ((ord(m.group(0)[0]) - 0xD800) << 10) + (ord(m.group(0)[1]) - 0xDC00)), s)
