"""The objects an MMEngine checkpoint holds besides tensors, rebuilt without
running numpy's or MMEngine's own unpickling code.

MMEngine 0.10.7 stores numpy arrays, dtypes and scalars and its
``HistoryBuffer`` in every checkpoint (message hub, schedulers, AMP state).
Allowing numpy's classes in ``torch.load(weights_only=True)`` would let a
pickle call their C ``__new__``/``__setstate__`` with any arguments: a dtype
with an object field filled from raw bytes is a forged pointer, and the
process dies (or worse) the moment the array is read or freed. Allowing
``HistoryBuffer`` would let a file rewrite the class-wide statistics of every
buffer in the process.

So the names a checkpoint uses for them resolve to inert stand-ins that only
record their arguments and state (:data:`CHECKPOINT_GLOBALS`), and
:func:`rebuild_checkpoint_objects` turns those records into real objects
after unpickling, accepting only what MMEngine writes: arrays, dtypes and
scalars of booleans, integers, floats and complex numbers (any byte order),
and buffers with their numeric history and ``max_length``. Everything else is
refused with :class:`pickle.UnpicklingError`.
"""
import math
import pickle

import numpy as np
from mmengine.logging import HistoryBuffer

#: dtype kinds a checkpoint may hold: bool, signed and unsigned integers,
#: floats, complex numbers. Objects, structured/void, strings and datetimes
#: are refused.
NUMERIC_KINDS = 'biufc'

#: The statistics of a ``HistoryBuffer`` that MMEngine pickles by reference,
#: as ``getattr(HistoryBuffer, name)``.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

#: The attributes MMEngine 0.10.7 pickles for a ``HistoryBuffer``, besides
#: ``statistics_methods``, which is ignored: the process's own registered
#: statistics stand.
HISTORY_BUFFER_ATTRIBUTES = ('max_length', '_log_history', '_count_history')


def refuse(what):
    raise pickle.UnpicklingError(f'refusing {what}')


class PickledRecord:
    """Records the arguments and the ``BUILD`` state a pickle gives an
    object; :meth:`rebuild` makes the real object from them, or refuses."""
    args = ()
    state = None

    def __init__(self, *args):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class PickledDtype(PickledRecord):
    """Stands for ``numpy.dtype(spec, align, copy)`` + its state."""

    def rebuild(self):
        spec = self.args[0] if self.args else None
        if not isinstance(spec, str):
            refuse(f'numpy.dtype({spec!r}): a checkpoint dtype is named by '
                   'a string')
        try:
            dtype = np.dtype(spec)
        except TypeError:
            refuse(f'numpy.dtype({spec!r})')
        if dtype.kind not in NUMERIC_KINDS:
            refuse(f'numpy.dtype({spec!r}) (kind {dtype.kind!r}): only '
                   'booleans, integers, floats and complex numbers')
        if self.state is None:
            return dtype
        state = self.state
        if not (isinstance(state, tuple) and len(state) in (8, 9)
                and state[0] in (3, 4) and state[1] in ('<', '>', '|', '=')
                and all(part is None for part in state[2:5] + state[8:])):
            refuse(f'the state {state!r} for numpy.dtype({spec!r}): a '
                   'numeric dtype has no fields, subarray or metadata')
        return dtype.newbyteorder(state[1]) if state[1] in '<>' else dtype


class PickledArray(PickledRecord):
    """Stands for ``numpy.ndarray``: ``_reconstruct(ndarray, ...)`` + state
    ``(version, shape, dtype, is_fortran, raw bytes)``."""

    def __init__(self, *args):
        if args:
            refuse('numpy.ndarray.__new__ with arguments: MMEngine pickles '
                   'arrays through _reconstruct')

    def rebuild(self):
        state = self.state
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, raw)
        if not (isinstance(state, tuple) and len(state) == 4):
            refuse(f'a numpy array state {state!r}')
        shape, dtype, is_fortran, raw = state
        if not (isinstance(shape, tuple) and all(
                type(n) is int and n >= 0 for n in shape)):
            refuse(f'a numpy array of shape {shape!r}')
        if not isinstance(dtype, PickledDtype):
            refuse(f'a numpy array of dtype {dtype!r}')
        if not isinstance(is_fortran, bool):
            refuse(f'a numpy array with is_fortran={is_fortran!r}')
        if not isinstance(raw, (bytes, bytearray)):
            refuse(f'a numpy array whose data is a {type(raw).__name__}, '
                   'not bytes (object arrays are not allowed)')
        dtype = dtype.rebuild()
        size = math.prod(shape) * dtype.itemsize
        if len(raw) != size:
            refuse(f'a numpy array of shape {shape} and dtype {dtype} with '
                   f'{len(raw)} bytes of data ({size} expected)')
        array = np.frombuffer(bytes(raw), dtype=dtype)
        return array.reshape(shape, order='F' if is_fortran else 'C').copy(
            order='K')


def reconstruct_array(subtype, shape, typecode):
    """``numpy.core.multiarray._reconstruct`` as checkpoints may call it."""
    if subtype is not PickledArray:
        refuse(f'_reconstruct({subtype!r}, ...): only numpy.ndarray')
    return PickledArray()


def numpy_scalar(dtype, data):
    """``numpy.core.multiarray.scalar`` as checkpoints may call it: a
    numeric scalar from its bytes."""
    if not isinstance(dtype, PickledDtype):
        refuse(f'a numpy scalar of dtype {dtype!r}')
    dtype = dtype.rebuild()
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        refuse(f'a numpy scalar of dtype {dtype} from {data!r}')
    return np.frombuffer(data, dtype=dtype)[0]


class PickledHistoryBuffer(PickledRecord):
    """Stands for MMEngine's ``HistoryBuffer``: ``NEWOBJ`` + a state dict."""

    def __init__(self, *args):
        if args:
            refuse('HistoryBuffer.__new__ with arguments')

    def rebuild(self, rebuild_child):
        state = self.state
        if not isinstance(state, dict):
            refuse(f'a HistoryBuffer state {state!r}')
        state = {k: v for k, v in state.items() if k != 'statistics_methods'}
        if set(state) != set(HISTORY_BUFFER_ATTRIBUTES):
            refuse(f'a HistoryBuffer with attributes {sorted(state)}: '
                   f'MMEngine writes {list(HISTORY_BUFFER_ATTRIBUTES)}')
        state = {k: rebuild_child(v) for k, v in state.items()}
        log, count = state['_log_history'], state['_count_history']
        if not (type(state['max_length']) is int
                and all(isinstance(a, np.ndarray) and a.ndim == 1
                        for a in (log, count)) and len(log) == len(count)):
            refuse('a HistoryBuffer whose max_length is not an integer or '
                   'whose histories are not 1-D arrays of one length')
        buffer = HistoryBuffer.__new__(HistoryBuffer)
        buffer.__dict__.update(state)
        return buffer


def history_buffer_statistic(owner, name):
    """``builtins.getattr`` as checkpoints may call it: only for the
    statistics of ``HistoryBuffer``."""
    if owner is PickledHistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    refuse(f'getattr({owner!r}, {name!r}): a checkpoint may only look up '
           f'HistoryBuffer.{"/".join(HISTORY_BUFFER_STATISTICS)}')


def empty_bytes(*args):
    """``builtins.bytes`` as protocol 2 pickles ``b''`` (the data of an
    empty array): only without arguments."""
    if args:
        refuse(f'bytes{args!r}: a checkpoint only calls bytes()')
    return b''


def _numpy_globals():
    """The stand-ins under the names numpy 2 (``numpy._core``) and numpy 1
    (``numpy.core``) pickle arrays, dtypes and scalars with."""
    names = [(PickledArray, 'numpy.ndarray'), (PickledDtype, 'numpy.dtype')]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        names += [(reconstruct_array, f'{module}._reconstruct'),
                  (numpy_scalar, f'{module}.scalar')]
    return names


#: Everything beyond torch's defaults that MMEngine 0.10.7's checkpoints
#: hold (message hub, scheduler, best-checkpoint and AMP state), each as the
#: stand-in for the name it is pickled under.
CHECKPOINT_GLOBALS = [
    (PickledHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (history_buffer_statistic, 'builtins.getattr'),
    (empty_bytes, 'builtins.bytes'),
] + _numpy_globals()


def rebuild_checkpoint_objects(obj):
    """Replace the stand-ins in an unpickled checkpoint by the real objects.

    Dicts (``OrderedDict`` included) and lists are updated in place, tuples
    and sets rebuilt; shared and cyclic containers are visited once.

    Raises:
        pickle.UnpicklingError: a stand-in records something MMEngine does
            not write, or the nesting is too deep.
    """
    done = {}

    def rebuild(item):
        key = id(item)
        if key in done:
            return done[key]
        if isinstance(item, PickledHistoryBuffer):
            done[key] = item.rebuild(rebuild)
        elif isinstance(item, PickledRecord):
            done[key] = item.rebuild()
        elif isinstance(item, dict):
            done[key] = item
            pairs = [(rebuild(k), rebuild(v)) for k, v in item.items()]
            if any(new is not old for (new, _), old in zip(pairs, item)):
                item.clear()
            item.update(pairs)
        elif isinstance(item, list):
            done[key] = item
            item[:] = [rebuild(v) for v in item]
        elif type(item) in (tuple, set, frozenset):
            done[key] = type(item)(rebuild(v) for v in item)
        else:
            return item
        return done[key]

    try:
        return rebuild(obj)
    except RecursionError:
        refuse('a checkpoint nested deeper than Python can walk')
