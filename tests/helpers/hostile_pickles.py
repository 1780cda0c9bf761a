"""Hostile checkpoint payloads, built by the tests (never shipped as files):
objects whose pickles do what an attacker's file does."""
import copyreg
import os
from collections import OrderedDict

import numpy as np
from mmengine.logging import HistoryBuffer
from numpy._core import multiarray


class RunsCommand:
    """Unpickling it runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class Calls:
    """Pickles as ``func(*args)``, then ``BUILD`` with ``state`` if given."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        if self.state is None:
            return self.func, self.args
        return self.func, self.args, self.state


class New:
    """Pickles as ``NEWOBJ cls.__new__(cls, *args)`` (then ``BUILD`` with
    ``state`` if given)."""

    def __init__(self, cls, args=(), state=None):
        self.cls, self.args, self.state = cls, args, state

    @property
    def __class__(self):  # pickle checks that NEWOBJ builds the own class
        return self.cls

    def __reduce_ex__(self, protocol):
        reduced = copyreg.__newobj__, (self.cls, ) + self.args
        return reduced if self.state is None else reduced + (self.state, )


# np.dtype([('a', 'O')]) and np.dtype('O'), built by one call each (no
# BUILD of an object dtype, which torch's allowlist would refuse).
STRUCTURED_OBJECT = Calls(np.dtype, ([('a', 'O')], ))
OBJECT = Calls(np.dtype, ('O', ))
POINTER = b'AAAAA\0\0\0'  # 8 bytes read as a PyObject*


def dtype_with_state(spec, fields):
    """``np.dtype(spec)`` whose pickled state adds ``fields`` and the
    has-object flag without the list-pickle flag."""
    return Calls(np.dtype, (spec, False, True),
                 (3, '|', None, tuple(fields), fields, 8, 1, 1))


#: Pickles that build a numpy object holding a forged object pointer.
FORGED_NUMPY = dict(
    new_structured=New(np.ndarray, ((1, ), STRUCTURED_OBJECT, POINTER)),
    new_object=New(np.ndarray, ((1, ), OBJECT, POINTER)),
    called_ndarray=Calls(np.ndarray, ((1, ), OBJECT, POINTER)),
    reconstruct_void=Calls(
        multiarray._reconstruct, (np.ndarray, (0, ), b'b'),
        (1, (1, ), dtype_with_state('V8', dict(a=(OBJECT, 0))), False,
         POINTER)),
    reconstruct_float_with_fields=Calls(
        multiarray._reconstruct, (np.ndarray, (0, ), b'b'),
        (1, (1, ), dtype_with_state('f8', dict(a=(OBJECT, 0))), False,
         POINTER)),
    object_list_array=Calls(
        multiarray._reconstruct, (np.ndarray, (0, ), b'b'),
        (1, (1, ), OBJECT, False, [1])),
    scalar_structured=Calls(multiarray.scalar, (STRUCTURED_OBJECT, POINTER)),
    bare_object_dtype=STRUCTURED_OBJECT,
)


def wrapped(payload, how):
    """``payload`` where a checkpoint would hide it."""
    if how == 'ordered_dict':
        return dict(state_dict=OrderedDict(w=payload))
    if how == 'meta':
        return dict(state_dict={}, meta=dict(hook_msgs=[(1, payload)]))
    return dict(state_dict={}, message_hub=dict(log_scalars=payload))


def history_buffer(statistics_methods, **attributes):
    """A ``HistoryBuffer`` pickled with these ``statistics_methods`` (and
    extra attributes)."""
    buffer = HistoryBuffer([1.0, 5.0], [1, 1])
    state = dict(buffer.__dict__, statistics_methods=statistics_methods,
                 **attributes)
    return New(HistoryBuffer, (), state)
