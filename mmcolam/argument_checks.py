"""The argument checks of mmcolam's components, one rule per kind of value.

A component checks an argument where a bad value would not stop the run by
itself, or only after epochs of training: a range that trains nothing or
trains wrongly (a temperature <= 0, an interval of 0, a weight outside
[0, 1]), a string choice where a typo would take another branch, options
that conflict. Flags that any truthy value sets sensibly, and values whose
first use fails at once with a clear error (a table lookup, a seed of the
wrong type), are left to Python and MMEngine.

Each returns the value (as ``float``/``int`` where it converts) or raises a
ValueError that names the option, the value given and what is allowed. A
component names its options as ``'Owner: option'`` where the option alone
would not say which config entry is wrong (losses, backbones).
"""
import math
from numbers import Integral, Real
from typing import Optional

#: Temperatures outside it train nothing (the loss stays ln C) or overflow.
TEMPERATURE_RANGE = (0.01, 100.0)


def check_choice(name: str, value, allowed):
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f'{name}={value!r} is not supported: choose one of '
                         f'{", ".join(repr(a) for a in allowed)}')
    return value


def check_int(name: str,
              value,
              low: int = 1,
              allow_none: bool = False) -> Optional[int]:
    """``value`` as an int if it is an integer ``>= low`` (``bool`` is not
    one), or None where ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value,
                                                 Integral) or value < low:
        raise ValueError(f'{name}={value!r} must be an integer >= {low}' +
                         (' or None' if allow_none else ''))
    return int(value)


def check_number(name: str,
                 value,
                 low: Optional[float] = None,
                 high: Optional[float] = None,
                 open_low: bool = False,
                 open_high: bool = False,
                 note: Optional[str] = None) -> float:
    """``value`` as a float if it is a finite real number (``bool`` is not
    one) in the interval from ``low`` to ``high`` (None: unbounded; ends
    included unless ``open_low``/``open_high``). ``note`` is added to the
    message, e.g. the paper's value."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and \
        math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if ok:
        return float(value)
    if low is not None and high is not None:
        where = (f' in {"(" if open_low else "["}{low:g}, {high:g}'
                 f'{")" if open_high else "]"}')
    elif low is not None:
        where = f' {">" if open_low else ">="} {low:g}'
    elif high is not None:
        where = f' {"<" if open_high else "<="} {high:g}'
    else:
        where = ''
    raise ValueError(f'{name}={value!r} must be a finite number{where}' +
                     (f' ({note})' if note else ''))


def check_temperature(name: str, value) -> float:
    """``value`` as a float if it is in :data:`TEMPERATURE_RANGE`."""
    return check_number(name, value, *TEMPERATURE_RANGE,
                        note='the paper recommends 1 to 2')
