"""Kubernetes resource quantities (apimachinery's `resource.Quantity`), as exact numbers.

Lives in the policy pack so that the pack needs nothing but the standard library and
pulumi-policy; the stack configuration model imports it from here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the quantity's value in base units (cores for CPU, bytes for memory).

    >>> parse_quantity("1500m")
    Decimal('1.500')
    >>> parse_quantity("2Gi")
    Decimal('2147483648')
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 8Gi)")
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as exc:  # the regex admits only decimal numbers; kept for safety
        raise QuantityError(f"{value!r} is not a Kubernetes quantity") from exc
    if exponent:
        return base * (Decimal(10) ** int(exponent[1:]))
    suffix = suffix or ""
    if suffix in _BINARY_SUFFIXES:
        return base * _BINARY_SUFFIXES[suffix]
    return base * _DECIMAL_SUFFIXES[suffix]
