"""Executors: where batch runs run. Local processes and Ray tasks, one interface.

``make_executor("local", jobs=2)`` or ``make_executor("ray", address=...)``;
both run :func:`~simengine.sim.executors.work.run_task` for each run.
"""

from __future__ import annotations

from simengine.sim.executors.base import (
    Executor,
    HostLost,
    Outcome,
    Progress,
    RunTask,
    Started,
)
from simengine.sim.executors.hosts import Host, HostPool, HostsError, parse_hosts
from simengine.sim.executors.ray_tasks import INSTALL, ExecutorError

EXECUTORS = ("local", "ray")

__all__ = [
    "EXECUTORS", "INSTALL", "Executor", "ExecutorError", "Host", "HostLost",
    "HostPool", "HostsError", "Outcome", "Progress", "RunTask", "Started", "make_executor",
    "parse_hosts",
]


def make_executor(name: str, *, jobs: int | None, address: str | None = None,
                  node_slot: str | None = None, cpus_per_run: float = 1.0,
                  max_retries: int = 3) -> Executor:
    """The executor ``name`` (local or ray), not yet opened.

    Raises:
        ExecutorError: an unknown name, Ray options without Ray, Ray not installed.
    """
    if name == "local":
        if address or node_slot:
            raise ExecutorError("--address and --node-slot are for --executor ray")
        from simengine.sim.executors.local import LocalExecutor

        return LocalExecutor(jobs or 2)
    if name == "ray":
        from simengine.sim.executors.ray_tasks import RayExecutor, import_ray

        import_ray()  # say how to install it before anything starts
        return RayExecutor(address, num_cpus=None if address else jobs,
                           cpus_per_run=cpus_per_run, node_slot=node_slot,
                           max_retries=max_retries)
    raise ExecutorError(f"unknown executor {name!r}; use {' or '.join(EXECUTORS)}")
