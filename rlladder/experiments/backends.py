"""How runs are executed: one after another, on all local cores, or on a Ray cluster.

A backend takes a function and a list of independent tasks and yields ``(task, result)`` pairs
as each task finishes, in any order; the runner saves each result as it arrives and sorts at the
end, which is why every backend gives the same DataFrame.

* ``serial``: in this process, one run after the other (the easiest to debug).
* ``process`` (default): a pool of worker processes, one per core, each with one torch thread
  (several processes with one thread each beat one process with many threads for small networks).
* ``ray``: Ray tasks, on an existing cluster (``address="ray://host:10001"`` or ``"auto"``) or on a
  local one started for the experiment (``pip install "rlladder[ray]"``).

Functions and tasks must be picklable: define your own agent classes and env factories at module
level in an importable module (not in ``__main__`` of a notebook).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from rlladder.errors import ConfigError, check_int, unknown_name

__all__ = ["Backend", "SerialBackend", "ProcessBackend", "RayBackend", "make_backend", "BACKENDS"]

BACKENDS = ("serial", "process", "ray")


class Backend:
    """Runs ``fn(task)`` for every task and yields ``(task, result)`` as each finishes."""

    name = "backend"
    #: whether each run may draw its own progress bar (only where runs share our terminal in turn)
    per_run_progress = False

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else check_int("workers", workers, 1)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class SerialBackend(Backend):
    """Everything in this process, in order."""

    name = "serial"
    per_run_progress = True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = 1

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        for task in tasks:
            yield task, fn(task)


def init_worker(threads: int = 1, import_torch: bool = False) -> None:
    """Worker process set-up: ``threads`` math threads, Ctrl-C left to the parent process.

    The environment variables cap numpy's and torch's thread pools before they start; if the
    experiment has deep agents, torch is imported now and capped with ``torch.set_num_threads``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if import_torch or "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set in this process
            pass


def _start_method() -> str:
    # forkserver: workers fork from a clean server process (fast, no inherited threads);
    # spawn where there is no fork (Windows, and the macOS default).
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class ProcessBackend(Backend):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes (default: all
    cores), started with ``forkserver`` (``spawn`` where there is none), one torch thread each."""

    name = "process"

    def __init__(
        self, workers: int | None = None, *, start_method: str | None = None, threads: int = 1
    ) -> None:
        super().__init__(workers)
        self.start_method = start_method or _start_method()
        self.threads = check_int("threads", threads, 1)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        if not tasks:
            return
        context = multiprocessing.get_context(self.start_method)
        import_torch = "torch" in sys.modules
        executor = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=context,
            initializer=init_worker,
            initargs=(self.threads, import_torch),
        )
        pending: dict[Future, int] = {}
        finished = False
        try:
            pending = {executor.submit(fn, task): i for i, task in enumerate(tasks)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        raise RuntimeError(
                            "a worker process died. Common causes: running out of memory, or a "
                            "script that starts an experiment without the `if __name__ == "
                            "'__main__':` guard (worker processes import your script); "
                            "backend='serial' shows the error directly"
                        ) from None
                    yield tasks[pending.pop(future)], result
            finished = True
        finally:
            if not finished:  # Ctrl-C, an error, or the caller stopped early: stop the workers now
                for future in pending:
                    future.cancel()
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)


def _ray_call(sys_path: list[str], fn_and_task: bytes) -> Any:
    """Runs inside a Ray worker: make the driver's modules importable, then run the task."""
    for entry in sys_path:
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.append(entry)
    init_worker(1)
    fn, task = pickle.loads(fn_and_task)
    return fn(task)


class RayBackend(Backend):
    """Ray tasks (one CPU each) on the cluster at ``address``, or on a local one started here.

    A Ray session that is already running (``ray.init()`` called before) is used as it is.
    A local cluster started by this backend is shut down when the experiment ends.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        super().__init__(workers)
        self.address = address

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
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
        try:
            paths = [p for p in sys.path if p]
            refs = {remote.remote(paths, pickle.dumps((fn, task))): task for task in tasks}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield refs[ref], ray.get(ref)
            pending = []
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()


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
