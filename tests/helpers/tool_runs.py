"""Run the command-line tools (tools/*.py, tools/*.sh) in child processes, on
config files that a test writes, for tests."""
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')


def write_config(cfg, path, test_hooks=()):
    """Write the config dict ``cfg`` to the file ``path`` with
    ``custom_imports`` of mmcolam and tests/helpers/colam_test_hooks.py, and
    ``test_hooks`` (hook dicts of that module) appended to ``custom_hooks``.

    Returns:
        str: ``path``.
    """
    cfg = dict(cfg)
    cfg['custom_imports'] = dict(
        imports=['mmcolam', 'tests.helpers.colam_test_hooks'],
        allow_failed_imports=False)
    cfg['custom_hooks'] = list(cfg.get('custom_hooks', [])) + list(test_hooks)
    Config(cfg).dump(str(path))
    return str(path)


def free_port():
    """A TCP port that nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env(**extra):
    """Environment of a tool's process: this interpreter, the repository
    importable (tests.helpers.colam_test_hooks), one thread per process (2
    processes on 2 cores, and the same float results in every run), a free
    port for torchrun; unbuffered output, and faulthandler to dump every
    thread's stack on SIGABRT (:func:`finish` sends it to a run that hangs)."""
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join(
            [REPO] + ([env['PYTHONPATH']]
                             if env.get('PYTHONPATH') else [])),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PORT=str(free_port()),
        PYTHONWARNINGS='ignore',
        PYTHONUNBUFFERED='1',
        PYTHONFAULTHANDLER='1')
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_tool(args, log_path, **env):
    """Start ``args`` (e.g. ``['bash', 'tools/dist_train.sh', ...]`` or
    ``[sys.executable, 'tools/train.py', ...]``) in the repository root with
    stdout and stderr going to ``log_path``.

    Returns:
        subprocess.Popen
    """
    with open(log_path, 'w') as log:
        # A session of its own, so that stop() ends torchrun's workers too.
        return subprocess.Popen([str(a) for a in args],
                                cwd=REPO,
                                env=tool_env(**env),
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def parents():
    """``{pid: parent pid}`` of every process now (Linux /proc)."""
    found = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        found[int(entry)] = int(stat.rsplit(')', 1)[1].split()[1])
    return found


def children_of(pid):
    """Process ids whose parent is ``pid``."""
    return [child for child, parent in parents().items() if parent == pid]


def descendants_of(pid):
    """``pid``'s children, their children and so on (one /proc scan)."""
    parent_of = parents()
    found, todo = [], [pid]
    while todo:
        top = todo.pop()
        children = [c for c, p in parent_of.items() if p == top]
        found += children
        todo += children
    return found


def alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def stop(process):
    """Kill ``process`` and every process it started, as a crash would:
    its session, and the descendants in sessions of their own (torchrun
    starts each worker in a new session)."""
    if process.poll() is None:
        descendants = descendants_of(process.pid)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in descendants:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def dump_stacks(process, seconds=3):
    """Make the processes ``process`` started print every thread's Python
    stack to their log (SIGABRT, caught by faulthandler: :func:`tool_env`),
    and give them ``seconds`` to do it."""
    for pid in [process.pid] + descendants_of(process.pid):
        try:
            os.kill(pid, signal.SIGABRT)
        except ProcessLookupError:
            pass
    time.sleep(seconds)


def finish(process, log_path, timeout=480):
    """Wait for ``process``; fail with the end of its log unless it exited
    with 0. A run still going after ``timeout`` seconds first dumps its
    stacks to the log (:func:`dump_stacks`), then is killed."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        dump_stacks(process)
        stop(process)
        tail = open(log_path).read()[-12000:]
        raise AssertionError(
            f'{process.args} did not end within {timeout} s; the end of its '
            f'log, with the stacks it had:\n{tail}')
    if process.returncode != 0:
        tail = open(log_path).read()[-4000:]
        raise AssertionError(
            f'{process.args} exited with {process.returncode}:\n{tail}')


def run_tool(args, log_path, timeout=480, **env):
    """Run a tool to its end; see :func:`start_tool` and :func:`finish`."""
    finish(start_tool(args, log_path, **env), log_path, timeout)


def load_tool(name):
    """Import ``tools/<name>.py`` (``name`` may be ``analysis_tools/<tool>``
    or ``model_converters/<tool>``) as a module (``tools/`` is not a package,
    and ``test`` would be the standard library's)."""
    import importlib.util
    sys.path.insert(0, TOOLS)  # tools/test.py imports train
    try:
        spec = importlib.util.spec_from_file_location(
            f'mmcolam_tools_{name.replace("/", "_")}',
            osp.join(TOOLS, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(TOOLS)
    return module
