"""Where a sweep's tasks run: one after another in this process, or on a Dask cluster (a new local one, or an
existing one whose workers must run the same versions as this process).

Either way the rows are the same: a task is a pure function of the spec (:func:`analytic.sweep.tasks.run_task`).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

from ..errors import ClusterError
from .heatmap import critical_point
from .spec import Task
from .store import versions
from .tasks import run_task

#: ``progress(done, total)``, called at the start and after every task.
Progress = Callable[[int, int], None]
#: Packages that must have the same version on every worker as here (the numbers depend on them).
_SAME_VERSIONS = ("analytic", "numpy", "scipy", "sympy")
_NEEDS_DASK = "running a sweep on Dask needs the sweep extra: pip install -e '.[sweep]' (or use --serial)"


def run_serial(pending: Sequence[Task], done: Callable[[dict], None],
               points: Sequence[tuple[str, float]]) -> list[float | None]:
    """Run the tasks here, then the critical-line points; the critical :math:`\\sigma_w^2` of each point."""
    for task in pending:
        done(run_task(task))
    return [critical_point(a, sb) for a, sb in points]


def check_worker_versions(client: Any, scheduler: str) -> None:
    """Raise :class:`ClusterError` unless every worker of an existing cluster runs the versions of
    :data:`_SAME_VERSIONS` that this process runs (a different NumPy could give different numbers)."""
    here = versions()
    try:
        remote = client.run(versions)
    except Exception as exc:  # a worker without this package fails to unpickle the function
        raise ClusterError(f"the workers at {scheduler} cannot run analytic ({type(exc).__name__}: {exc}); "
                           "install it there: pip install -e '.[sweep]'") from None
    if not remote:
        raise ClusterError(f"the Dask cluster at {scheduler} has no workers")
    for worker, theirs in sorted(remote.items()):
        diff = [f"{k} {theirs.get(k)} (here {here[k]})" for k in _SAME_VERSIONS if theirs.get(k) != here[k]]
        if diff:
            raise ClusterError(f"worker {worker} runs {', '.join(diff)}; the numbers must not depend on the worker")


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Ignore SIGINT while the local workers are spawned (they inherit it), so Ctrl-C reaches this process alone,
    which then cancels the tasks in flight and closes the cluster; restored afterwards."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def local_cluster(n_workers: int = 2) -> Any:
    """A ``distributed.LocalCluster`` on this machine: ``n_workers`` processes with one thread each, everything
    on loopback (127.0.0.1), no dashboard (the scheduler's health endpoint on a free loopback port) and no worker
    profiler, logs below CRITICAL silenced; the workers ignore SIGINT, so Ctrl-C reaches the calling process
    alone. Close it after use.
    """
    try:
        from distributed import LocalCluster
    except ModuleNotFoundError:
        raise ClusterError(_NEEDS_DASK) from None
    import logging

    import dask

    # the workers' statistical profiler (a stack sample every 10 ms) only feeds the dashboard, which is off
    with _workers_ignore_sigint(), dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None, silence_logs=logging.CRITICAL,
                            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})


def run_dask(pending: Sequence[Task], done: Callable[[dict], None], points: Sequence[tuple[str, float]],
             scheduler: str | None, n_workers: int, started: Callable[[], None] = lambda: None) -> list[float | None]:
    """Run the tasks (and the critical-line points, submitted first) on a Dask cluster: ``scheduler``
    (``tcp://host:port``) or a new local one, closed again at the end."""
    try:
        from distributed import Client, as_completed
    except ModuleNotFoundError:
        raise ClusterError(_NEEDS_DASK) from None

    cluster = None
    client = None
    futures: list = []
    try:
        if scheduler is None:
            cluster = local_cluster(n_workers)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(f"cannot connect to the Dask scheduler {scheduler}: {exc}") from None
            check_worker_versions(client, scheduler)
        started()
        line = client.map(critical_point, [a for a, _ in points], [sb for _, sb in points], pure=False)
        futures = client.map(run_task, list(pending), pure=False)
        futures += line
        for future in as_completed(futures[:len(pending)]):
            done(future.result())
        return client.gather(line)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.cancel([f for f in futures if not f.done()])
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
