"""A bounded UBJSON reader (the subset XGBoost writes), used to check a model before XGBoost reads it.

Every declared length and count is checked against the bytes that remain before anything is read or
allocated, nesting is limited, and typed numeric arrays become NumPy views (no per-element Python work).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["UBJSONError", "parse_ubjson"]

_MAX_DEPTH = 32
_NUMBERS = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4", b"D": ">f8"}


class UBJSONError(Exception):
    """The bytes are not well-formed UBJSON (internal: the model check reports it)."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise UBJSONError(f"a length of {n} bytes at offset {self.pos} runs past the end of the file")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def marker(self) -> bytes:
        return bytes(self.take(1))

    def number(self, marker: bytes) -> Any:
        dtype = np.dtype(_NUMBERS[marker])
        return np.frombuffer(self.take(dtype.itemsize), dtype=dtype)[0].item()

    def length(self) -> int:
        marker = self.marker()
        if marker not in _NUMBERS or marker in (b"d", b"D"):
            raise UBJSONError(f"expected an integer length at offset {self.pos - 1}, got {marker!r}")
        n = int(self.number(marker))
        if n < 0:
            raise UBJSONError(f"negative length {n} at offset {self.pos}")
        return n

    def string(self) -> str:
        return bytes(self.take(self.length())).decode("utf-8")

    def value(self, marker: bytes, depth: int) -> Any:
        if marker in _NUMBERS:
            return self.number(marker)
        if marker == b"S" or marker == b"H":
            return self.string()
        if marker == b"C":
            return bytes(self.take(1)).decode("latin-1")
        if marker in (b"T", b"F", b"Z"):
            return {b"T": True, b"F": False, b"Z": None}[marker]
        if marker == b"[":
            return self.array(depth + 1)
        if marker == b"{":
            return self.object(depth + 1)
        raise UBJSONError(f"unknown marker {marker!r} at offset {self.pos - 1}")

    def container_header(self) -> tuple[bytes | None, int | None]:
        kind: bytes | None = None
        count: int | None = None
        if bytes(self.data[self.pos : self.pos + 1]) == b"$":
            self.pos += 1
            kind = self.marker()
            if bytes(self.take(1)) != b"#":
                raise UBJSONError(f"a typed container without a count at offset {self.pos}")
            count = self.length()
        elif bytes(self.data[self.pos : self.pos + 1]) == b"#":
            self.pos += 1
            count = self.length()
        if count is not None and count > len(self.data) - self.pos:  # every element takes >= 1 byte
            raise UBJSONError(f"a container declares {count} elements, more than the bytes left")
        return kind, count

    def array(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise UBJSONError("containers are nested too deeply")
        kind, count = self.container_header()
        if kind in _NUMBERS and count is not None:
            dtype = np.dtype(_NUMBERS[kind])
            return np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype)
        if count is not None:
            return [self.value(kind or self.marker(), depth) for _ in range(count)]
        out = []
        while (marker := self.marker()) != b"]":
            out.append(self.value(marker, depth))
        return out

    def object(self, depth: int) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise UBJSONError("containers are nested too deeply")
        kind, count = self.container_header()
        out: dict[str, Any] = {}
        if count is not None:
            for _ in range(count):
                key = self.string()
                out[key] = self.value(kind or self.marker(), depth)
            return out
        while bytes(self.data[self.pos : self.pos + 1]) != b"}":
            key = self.string()
            out[key] = self.value(self.marker(), depth)
        self.pos += 1
        return out


def parse_ubjson(data: bytes) -> Any:
    """The value encoded in ``data`` (typed numeric arrays as NumPy arrays).

    Raises:
        UBJSONError: When the bytes are not well-formed, a length runs past the end, or bytes remain.
    """
    reader = _Reader(data)
    try:
        value = reader.value(reader.marker(), 0)
    except (struct.error, UnicodeDecodeError, RecursionError) as exc:
        raise UBJSONError(str(exc)) from None
    if reader.pos != len(data):
        raise UBJSONError(f"{len(data) - reader.pos} bytes follow the model")
    return value
