"""Secrets that cannot leak by accident, and the short fingerprints that stand in for them (rule 12)."""

from __future__ import annotations

import hashlib
import hmac
import os


class Fingerprinter:
    """A short, salted, one-way stand-in for a secret: equal secrets match within one process."""

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt if salt is not None else os.urandom(16)

    def __call__(self, value: str) -> str:
        digest = hmac.new(self._salt, value.encode(), hashlib.sha256).hexdigest()
        return f"fp:{digest[:8]}"


_DEFAULT_FINGERPRINTER = Fingerprinter()


class Secret:
    """A token, reauth key or password. str(), repr() and format() show only its fingerprint.

    The value is reachable only through `reveal()`, so every place that lets it out is a grep away.
    """

    __slots__ = ("_fingerprint", "_value")

    def __init__(self, value: str, fingerprinter: Fingerprinter | None = None) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value
        self._fingerprint = (fingerprinter or _DEFAULT_FINGERPRINTER)(value)

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def __repr__(self) -> str:
        return f"Secret({self._fingerprint})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secrets are not pickled")
