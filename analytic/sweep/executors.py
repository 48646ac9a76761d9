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
#: Seconds a Dask scheduler has to answer each step of the handshake (connection, identity, the workers' versions);
#: a server that accepts the connection and stays silent is refused after this long, never waited on forever.
HANDSHAKE_SECONDS = 30.0


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
    except TimeoutError:
        raise ClusterError(f"the workers at {scheduler} did not report their versions within {HANDSHAKE_SECONDS:g} s")\
            from None
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
def _signals_held():
    """While the local cluster starts, SIGINT and SIGTERM are recorded instead of raised, and the first one
    recorded is raised (``KeyboardInterrupt``, or the command line's ``Terminated``) on the way out, so a half-built
    cluster is never left behind and no signal is lost. The workers themselves ignore SIGINT
    (:func:`dask_setup`)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def record(signum, frame):
        arrived.append(signum)

    # a signal ignored before stays ignored; the others are recorded
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous = {sig: handler for sig, handler in previous.items() if handler is not signal.SIG_IGN}
    for sig in previous:
        signal.signal(sig, record)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if arrived:
            handler = previous[arrived[0]]
            if callable(handler):
                handler(arrived[0], None)  # raises, as the signal would have
            else:
                signal.raise_signal(arrived[0])  # the default action


def dask_setup(worker: Any) -> None:
    """Run in every worker of :func:`local_cluster` as it starts (a Dask preload): ignore SIGINT, so Ctrl-C, which a
    terminal sends to every process of the group, is handled by the calling process alone, which cancels the tasks
    in flight and closes the cluster."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def local_cluster(n_workers: int = 2) -> Any:
    """A ``distributed.LocalCluster`` on this machine: ``n_workers`` processes with one thread each, everything
    on loopback (127.0.0.1), no dashboard (the scheduler's health endpoint on a free loopback port) and no worker
    profiler, logs below CRITICAL silenced; the workers ignore SIGINT once started, so Ctrl-C reaches the calling
    process alone. Ctrl-C or SIGTERM while it starts closes it again and is then raised. Close it after use.
    """
    try:
        from distributed import LocalCluster
    except ModuleNotFoundError:
        raise ClusterError(_NEEDS_DASK) from None
    import logging

    import dask

    cluster = None
    try:
        # the workers' statistical profiler (a stack sample every 10 ms) only feeds the dashboard, which is off
        with _signals_held(), dask.config.set({"distributed.worker.profile.enabled": False,
                                               "distributed.worker.preload": [__name__]}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.CRITICAL,
                                   scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    except BaseException:
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        raise
    return cluster


def _bounded_client() -> type:
    """``distributed.Client`` whose start (connection and handshake) and ``run`` are bounded by
    :data:`HANDSHAKE_SECONDS`: its own ``timeout`` bounds the connection, not the handshake read after it."""
    import asyncio

    from distributed import Client

    class BoundedClient(Client):
        async def _start(self, *args, **kwargs):
            return await asyncio.wait_for(super()._start(*args, **kwargs), HANDSHAKE_SECONDS)

        async def _run(self, *args, **kwargs):
            return await asyncio.wait_for(super()._run(*args, **kwargs), HANDSHAKE_SECONDS)

    return BoundedClient


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
                client = _bounded_client()(scheduler, timeout=HANDSHAKE_SECONDS)
            except TimeoutError:
                raise ClusterError(f"the Dask scheduler {scheduler} did not complete the handshake within "
                                   f"{HANDSHAKE_SECONDS:g} s") from None
            except (OSError, ValueError) as exc:
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
