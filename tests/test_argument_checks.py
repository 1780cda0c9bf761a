"""One rule per kind of value, and its message: option, value, what is
allowed."""
import numpy as np
import pytest

from mmcolam.argument_checks import (check_choice, check_int, check_number,
                                     check_temperature)


@pytest.mark.parametrize('value', [0.5, 1, np.float32(0.25), 0])
def test_number_in_range_is_returned_as_float(value):
    result = check_number('w', value, 0, 1)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize('kwargs, value, message', [
    (dict(low=0, high=1), float('nan'), 'w=nan must be a finite number in '
     r'\[0, 1\]'),
    (dict(low=0, high=1), float('inf'), r'w=inf .* in \[0, 1\]'),
    (dict(low=0, high=1), True, r'w=True .* in \[0, 1\]'),
    (dict(low=0, high=1), '0.5', r"w='0.5' .* in \[0, 1\]"),
    (dict(low=0, high=1, open_high=True), 1, r'w=1 .* in \[0, 1\)'),
    (dict(low=0, high=1, open_low=True), 0, r'w=0 .* in \(0, 1\]'),
    (dict(low=0), -0.5, 'w=-0.5 must be a finite number >= 0$'),
    (dict(low=0, open_low=True), 0.0, 'w=0.0 must be a finite number > 0$'),
    (dict(high=2, note='the paper: 1'), 3,
     r'w=3 must be a finite number <= 2 \(the paper: 1\)$'),
    (dict(), float('-inf'), 'w=-inf must be a finite number$'),
])
def test_number_out_of_range_names_option_value_and_range(
        kwargs, value, message):
    with pytest.raises(ValueError, match=message):
        check_number('w', value, **kwargs)


def test_temperature_range():
    assert check_temperature('T', 2) == 2.0
    for bad in (0.001, 1000, float('inf'), 1e-40):
        with pytest.raises(ValueError, match=r'in \[0.01, 100\] \(the paper '
                           'recommends 1 to 2\\)'):
            check_temperature('T', bad)


def test_int_and_choice():
    assert check_int('n', np.int64(3)) == 3
    assert check_int('n', None, allow_none=True) is None
    assert check_int('seed', 0, low=0) == 0
    for bad in (0, 2.0, True, None, '3'):
        with pytest.raises(ValueError, match='must be an integer >= 1$'):
            check_int('n', bad)
    with pytest.raises(ValueError, match='>= 1 or None$'):
        check_int('n', -1, allow_none=True)
    assert check_choice('mode', 'a', ('a', 'b')) == 'a'
    with pytest.raises(ValueError, match="mode='c' is not supported: choose "
                       "one of 'a', 'b'"):
        check_choice('mode', 'c', ('a', 'b'))
