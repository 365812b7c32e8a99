"""How runs are executed: one after another, on all local cores, or on a Ray cluster.

A backend takes a function and a list of independent tasks and yields ``(task, result)`` pairs
as each task finishes, in any order; the runner saves each result as it arrives and sorts at the
end, which is why every backend gives the same DataFrame.

* ``serial``: in this process, one run after the other (the easiest to debug).
* ``process`` (default): joblib's loky pool of worker processes, one per core, each with one torch
  thread (several processes with one thread each beat one process with many threads for small
  networks).
* ``ray``: Ray tasks, on an existing cluster (``address="ray://host:10001"`` or ``"auto"``) or on a
  local one started for the experiment (``pip install "rlladder[ray]"``).

Runs travel to the workers with cloudpickle, so agent classes and env factories defined in a
notebook cell or at the top of a script (``__main__``) travel by value, and scripts need no
``if __name__ == "__main__":`` guard: loky's workers start fresh interpreters that never re-run
the main script. Classes from importable modules travel by reference, as with plain pickle, and
names given to :func:`rlladder.register_agent` in this process are known in the workers too.

The process pool stays up between experiments (loky's reusable executor: the next experiment
skips the start-up and the imports) until it has been idle for five minutes. It is replaced when
the source file of a module outside the Python installation (your own modules, an editable
rlladder) has changed since the last experiment, so a worker never runs older code than this
process imported.
When a run raises, the workers are stopped, and the exception reaches the caller with its own
type and message. On Ctrl-C with a results folder, the runner first lets each run write its
checkpoint (:mod:`~rlladder.experiments.run_checkpoints`), then stops the workers
(:meth:`Backend.stop_workers`); a second Ctrl-C, or Ctrl-C without a results folder, stops them
at once.

Progress. Given ``progress=`` (a :class:`~rlladder.experiments.progress.TaskProgress`), a backend
calls ``fn(task, report)`` instead of ``fn(task)``, where ``report(n)`` is the task's
:class:`~rlladder.experiments.progress.Reporter` ("``n`` more units done"), tells ``progress``
the tasks' running totals while it waits for results (every
:data:`~rlladder.experiments.progress.POLL_INTERVAL_S` seconds), and tells it when each task has
finished. The channel is the backend's own: a callback (serial), shared memory (process), an
actor (ray); see :mod:`rlladder.experiments.progress`. Without ``progress=`` none is opened.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

import cloudpickle

from rlladder.errors import ConfigError, check_int, unknown_name
from rlladder.experiments.progress import (
    POLL_INTERVAL_S,
    CallbackReporter,
    RaySlots,
    Reporter,
    TaskProgress,
    open_shared_memory,
)

__all__ = ["Backend", "SerialBackend", "ProcessBackend", "RayBackend", "make_backend", "BACKENDS"]

BACKENDS = ("serial", "process", "ray")
#: seconds an idle process pool waits for the next experiment before its workers exit
IDLE_TIMEOUT_S = 300
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class Backend:
    """Runs ``fn(task)`` for every task and yields ``(task, result)`` as each finishes.

    With ``progress=``, runs ``fn(task, report)`` and keeps ``progress`` informed (see the
    module docstring). The runner passes ``progress=`` only to a ``map`` that takes it; for
    one that does not, the bar moves as runs finish.
    """

    name = "backend"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else check_int("workers", workers, 1)

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[Any],
        *,
        progress: TaskProgress | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def stop_workers(self) -> None:
        """Stop this backend's worker processes now (after Ctrl-C: the runs have written their
        checkpoints and returned). Nothing to do for a backend without workers of its own."""


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class SerialBackend(Backend):
    """Everything in this process, in order."""

    name = "serial"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = 1

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[Any],
        *,
        progress: TaskProgress | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        for index, task in enumerate(tasks):
            if progress is None:
                yield task, fn(task)
                continue
            yield task, fn(task, CallbackReporter(functools.partial(progress.report, index)))
            progress.finished(index)


def init_worker(threads: int = 1, import_torch: bool = False) -> None:
    """Worker process set-up: ``threads`` math threads, Ctrl-C left to the parent process.

    The environment variables cap numpy's and torch's thread pools (the process backend also sets
    them before the worker starts); if the experiment has deep agents, torch is imported now and
    capped with ``torch.set_num_threads``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in _THREAD_VARIABLES:
        os.environ[var] = str(threads)
    if import_torch or "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set in this process
            pass


def _worker_context(fn: Callable[[Any], Any]) -> bytes:
    """``fn`` and this process's agent registry, pickled once per experiment with cloudpickle.

    Names registered here at run time (``rl.register_agent("mine", Mine)`` in a notebook) are
    then known in the workers, whose fresh interpreters only have the built-in ones.
    """
    from rlladder.registry import registry_state

    return cloudpickle.dumps((fn, registry_state()))


def _report_totals(progress: TaskProgress, totals: Sequence[int]) -> None:
    """Tell ``progress`` each task's running total (``totals[i]``: task ``i``'s)."""
    for index, total in enumerate(totals):
        if total:
            progress.report(index, total)


def _run_in_worker(
    sys_path: list[str], context: bytes, task: bytes, report: Reporter | None = None
) -> Any:
    """Runs in a worker: see the parent's modules and agent names, then run the task.

    The task arrives as bytes and is unpickled here, after ``sys.path`` has the parent's entries
    (a reused worker may have started before a notebook added a folder to its path). With a
    ``report``, the task runs as ``fn(task, report)``, and ``report`` lets go of its channel at
    the end.
    """
    from rlladder.registry import set_registry_state

    for entry in sys_path:
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.append(entry)
    fn, registry = cloudpickle.loads(context)
    set_registry_state(registry)
    if report is None:
        return fn(cloudpickle.loads(task))
    try:
        return fn(cloudpickle.loads(task), report)
    finally:
        report.close()


def _sys_path() -> list[str]:
    return [os.path.abspath(p) for p in sys.path if p]


def _installed_prefixes() -> tuple[str, ...]:
    """Folders of the Python installation: the standard library and site-packages."""
    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple(os.path.join(paths[k], "") for k in keys if k in paths)


def _source_times() -> dict[str, int]:
    """Modification times of the imported modules that live outside the Python installation.

    Those are the ones that change while a notebook is open (your own modules, an editable
    install); an installed package does not change under a running process.
    """
    installed = _installed_prefixes()
    times: dict[str, int] = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or file.startswith(installed):
            continue
        try:
            times[file] = os.stat(file).st_mtime_ns
        except OSError:  # a module whose file has gone, or a zip import
            continue
    return times


_pool_sources: dict[str, int] = {}


def _process_pool(workers: int, threads: int) -> Any:
    """loky's reusable executor with ``workers`` processes, new if any source file has changed."""
    from joblib.externals.loky import get_reusable_executor

    global _pool_sources
    sources = _source_times()
    stale = any(_pool_sources.get(file, time) != time for file, time in sources.items())
    _pool_sources = sources
    return get_reusable_executor(
        max_workers=workers,
        timeout=IDLE_TIMEOUT_S,
        reuse=False if stale else "auto",
        kill_workers=stale,
        initializer=init_worker,
        initargs=(threads, "torch" in sys.modules),
        env={var: str(threads) for var in _THREAD_VARIABLES},
    )


def _worker_died(error: BaseException) -> RuntimeError:
    """One clear message for a worker process that ended without an answer."""
    codes = re.search(r"exit codes of the workers are (\{[^}]*\})", str(error))
    how = f" (exit codes {codes.group(1)})" if codes else ""
    return RuntimeError(
        f"a worker process died{how}; the runs that had finished are kept. Likely causes: the "
        "machine ran out of memory and the system killed it (use fewer workers, or smaller "
        "replay buffers), a crash inside a C extension, or code that ends its own process "
        "(os._exit, sys.exit in a worker thread). backend='serial' runs the same experiment in "
        "this process and shows the error there"
    )


def _not_sent(error: BaseException) -> RuntimeError:
    """A task or a result that could not cross to or from a worker."""
    cause = str(error.__cause__ or "").strip().splitlines()
    reason = f": {cause[-1]}" if cause else ""
    return RuntimeError(
        f"a run could not be passed between this process and a worker{reason}. Agents, their "
        "hyperparameters and env factories must be picklable (cloudpickle handles classes and "
        "functions from notebooks and scripts; open files, locks and live connections cannot be "
        "sent); backend='serial' needs none of that"
    )


def _result(future: Future) -> Any:
    """The future's result; a broken pool becomes one clear RuntimeError, any other exception is
    re-raised as the run raised it (same type, same message)."""
    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    try:
        return future.result()
    except TerminatedWorkerError as error:
        raise _worker_died(error) from None
    except BrokenProcessPool as error:
        raise _not_sent(error) from None


class ProcessBackend(Backend):
    """joblib's loky pool of ``workers`` processes (default: all cores), one torch thread each.

    The pool is reused by later experiments (see the module docstring); ``threads`` caps the math
    libraries' threads in each worker.
    """

    name = "process"

    def __init__(self, workers: int | None = None, *, threads: int = 1) -> None:
        super().__init__(workers)
        self.threads = check_int("threads", threads, 1)
        self._executor: Any = None

    def stop_workers(self) -> None:
        _stop_pool(self)

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[Any],
        *,
        progress: TaskProgress | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        if not tasks:
            return
        with _spawning():
            executor = _process_pool(min(self.workers, len(tasks)), self.threads)
        self._executor = executor
        context = _worker_context(fn)
        slots = None if progress is None else open_shared_memory(len(tasks))
        poll = None if progress is None else POLL_INTERVAL_S
        finished = False
        try:
            paths = _sys_path()
            with _spawning():  # loky starts its workers as tasks are submitted
                order = {
                    executor.submit(
                        _run_in_worker,
                        paths,
                        context,
                        cloudpickle.dumps(task),
                        None if slots is None else slots.reporter(i),
                    ): i
                    for i, task in enumerate(tasks)
                }
            pending = set(order)
            while pending:
                done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
                if progress is not None and slots is not None:
                    _report_totals(progress, slots.totals())
                for future in sorted(done, key=order.__getitem__):
                    yield tasks[order[future]], _result(future)
                    if progress is not None:
                        progress.finished(order[future])
            finished = True
        finally:
            if not finished:  # Ctrl-C, an error, or the caller stopped early: stop the workers now
                executor.shutdown(wait=True, kill_workers=True)
            if slots is not None:  # after the workers have stopped: unlink the block
                slots.close()


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """While worker processes start here: Ctrl-C ignored, so that they start with it ignored.

    A worker ignores Ctrl-C (its parent decides what happens: :func:`init_worker`), but a
    worker still importing when Ctrl-C reaches the whole process group (a terminal's Ctrl-C)
    would die before its initializer ran, and break the pool while the other workers write
    their checkpoints. A started process inherits an ignored signal, and Python leaves it
    ignored. (The main thread only: elsewhere, signals are not this thread's to set.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_pool(backend: ProcessBackend) -> None:
    """Kill the workers of the pool ``backend`` last used (the next experiment starts a new one)."""
    executor = getattr(backend, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
        backend._executor = None


def _ray_call(
    sys_path: list[str], context: bytes, task: bytes, report: Reporter | None = None
) -> Any:
    """Runs inside a Ray worker: one math thread, then :func:`_run_in_worker`."""
    init_worker(1)
    return _run_in_worker(sys_path, context, task, report)


class RayBackend(Backend):
    """Ray tasks (one CPU each) on the cluster at ``address``, or on a local one started here.

    A Ray session that is already running (``ray.init()`` called before) is used as it is.
    A local cluster started by this backend is shut down when the experiment ends. The function
    and the tasks are pickled with cloudpickle, so classes defined in ``__main__`` travel too.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        super().__init__(workers)
        self.address = address

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[Any],
        *,
        progress: TaskProgress | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "the ray backend needs Ray: pip install \"rlladder[ray]\" (or use backend='process')"
            ) from None
        started_here = False
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            started_here = True
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
        pending: list[Any] = []
        slots: RaySlots | None = None
        try:
            if progress is not None:
                slots = RaySlots(ray, len(tasks))
            paths = _sys_path()
            context = ray.put(_worker_context(fn))
            refs = {
                remote.remote(
                    paths,
                    context,
                    cloudpickle.dumps(task),
                    None if slots is None else slots.reporter(i),
                ): i
                for i, task in enumerate(tasks)
            }
            pending = list(refs)
            poll = None if slots is None else POLL_INTERVAL_S
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=poll)
                if progress is not None and slots is not None:
                    _report_totals(progress, slots.totals())
                for ref in done:
                    yield tasks[refs[ref]], _ray_result(ray, ref)
                    if progress is not None:
                        progress.finished(refs[ref])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if slots is not None:
                slots.close()
            if started_here:
                ray.shutdown()


def _ray_result(ray: Any, ref: Any) -> Any:
    """``ray.get(ref)``, with the run's own exception (not Ray's wrapper) re-raised."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except ray.exceptions.WorkerCrashedError as error:
        raise _worker_died(error) from None


def make_backend(
    backend: str | Backend = "process", *, workers: int | None = None, address: str | None = None
) -> Backend:
    """A backend by name: ``"serial"``, ``"process"`` or ``"ray"`` (or pass a Backend through)."""
    if isinstance(backend, Backend):
        return backend
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    if workers is not None:
        check_int("workers", workers, 1)
    if address is not None and backend != "ray":
        raise ConfigError(f"address= is for the ray backend only, not {backend!r}")
    if backend == "serial":
        return SerialBackend()
    if backend == "process":
        return ProcessBackend(workers)
    return RayBackend(workers, address=address)
