"""Several machines: `TF_CONFIG`, `MultiWorkerMirroredStrategy`, and stopping cleanly when a worker is lost.

Every worker runs the same `train.py` command with its own `TF_CONFIG` (TensorFlow's convention:
`{"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": i}}`,
optionally with a `chief` job). The strategy then spans all workers' devices. Two things TensorFlow
leaves unbounded are bounded here:

* Start-up. Creating the strategy waits for every worker to connect, and a worker that never
  comes would block it forever inside TensorFlow (holding the GIL, deaf to SIGTERM). A small
  watchdog process ends this one with one line after `timeout` seconds.
* A worker that dies. TensorFlow's coordination service notices the missing heartbeats (or the
  reset connection) and aborts the pending collectives with an `UnavailableError`;
  `peer_failure` turns that into one line naming the worker.
"""

import json
import os
import re
import subprocess
import sys

# TensorFlow is imported inside the functions that need it (create_strategy, peer_failure), not
# here: train.py reads and checks TF_CONFIG (from_environment) before it loads TensorFlow, so a
# malformed TF_CONFIG is reported in a fraction of a second.

# Runs in its own process so that it works while TensorFlow blocks this one: it ends quietly
# when its stdin becomes readable (the strategy is up, or this process has exited), else it
# prints the message and kills the waiting process.
_WATCHDOG = r"""
import os, select, signal, sys
ready, _, _ = select.select([sys.stdin], [], [], float(sys.argv[1]))
if not ready:
    sys.stderr.write(sys.argv[2] + "\n")
    sys.stderr.flush()
    os.kill(int(sys.argv[3]), signal.SIGKILL)
"""


class ClusterError(ValueError):
    """A `TF_CONFIG` that cannot be used; the message says what is wrong."""


class Cluster:
    """The tasks of `TF_CONFIG` in TensorFlow's order (chief first, then the workers) and which one we are."""

    def __init__(
        self,
        tf_config,  # The parsed TF_CONFIG dict.
    ):
        cluster = tf_config.get("cluster") or {}
        task = tf_config.get("task") or {}
        unknown = sorted(set(cluster) - {"chief", "worker"})
        if unknown:
            raise ClusterError(f"TF_CONFIG has a {unknown[0]!r} job; train.py uses only 'chief' and 'worker'")
        if len(cluster.get("chief", [])) > 1:
            raise ClusterError("TF_CONFIG lists more than one chief")
        self.tasks = [("chief", i, address) for i, address in enumerate(cluster.get("chief", []))]
        self.tasks += [("worker", i, address) for i, address in enumerate(cluster.get("worker", []))]
        key = (task.get("type"), task.get("index"))
        ids = [i for i, (kind, index, _) in enumerate(self.tasks) if (kind, index) == key]
        if not ids:
            raise ClusterError(f"TF_CONFIG's task {task!r} is not one of its cluster's tasks")
        self.task_type, self.task_index = key
        self.id = ids[0]  # TensorFlow's id_in_cluster: 0 is the chief.
        self.num_workers = len(self.tasks)
        self.is_chief = self.id == 0

    def name(
        self,
        task_id=None,  # Position in `tasks`; None = this task.
    ):
        """'worker 1 (host:port)' or 'the chief (host:port)'."""
        kind, index, address = self.tasks[self.id if task_id is None else task_id]
        return f"the chief ({address})" if kind == "chief" else f"worker {index} ({address})"

    def find(
        self,
        kind,  # Job name from a TensorFlow device string.
        index,  # Task index.
    ):
        """Position in `tasks` of /job:<kind>/task:<index>, or None."""
        for task_id, (task_kind, task_index, _) in enumerate(self.tasks):
            if (task_kind, task_index) == (kind, index):
                return task_id
        return None


def from_environment():
    """The `Cluster` of `TF_CONFIG`, or None when it is unset or names a single task."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError:
        raise ClusterError("TF_CONFIG is not valid JSON") from None
    if not isinstance(config, dict):
        raise ClusterError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster = Cluster(config)
    return cluster if cluster.num_workers > 1 else None


def create_strategy(
    cluster,  # `Cluster` from `from_environment`.
    timeout,  # Seconds to wait for every worker to connect.
):
    """MultiWorkerMirroredStrategy over every worker's GPUs (or CPU); call before any other TF work."""
    import tensorflow as tf  # Lazy: see the note at the top (TF_CONFIG is checked without TensorFlow).
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    # The strategy would configure the coordination service itself; doing it first sets the
    # heartbeat: a worker silent this long counts as lost.
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=kind, num_tasks=sum(1 for t in cluster.tasks if t[0] == kind))
        for kind in ("chief", "worker")
        if any(t[0] == kind for t in cluster.tasks)
    ]
    leader_kind, leader_index, _ = cluster.tasks[0]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{leader_kind}/replica:0/task:{leader_index}",
        cluster_register_timeout_in_ms=int(timeout * 1000),
        heartbeat_timeout_in_ms=int(heartbeat(timeout) * 1000),
        coordinated_jobs=jobs,
    )
    others = ", ".join(cluster.name(i) for i in range(cluster.num_workers) if i != cluster.id)
    message = (
        f"train.py: error: not every worker connected within {timeout:g} s ({cluster.name()} waited for "
        f"{others}); start the same train.py command with its TF_CONFIG on every worker, or raise "
        f"--worker_timeout"
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(timeout), message, str(os.getpid())], stdin=subprocess.PIPE
    )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=tf.distribute.cluster_resolver.TFConfigClusterResolver()
        )
    finally:
        watchdog.stdin.close()  # Readable EOF: the watchdog ends without acting.
        watchdog.wait(timeout=30)
    return strategy


def heartbeat(
    timeout,  # --worker_timeout seconds.
):
    """Seconds without a heartbeat after which a worker counts as lost (a fifth of the start-up wait, >= 10)."""
    return max(10.0, timeout / 5.0)


_TASK = re.compile(r"/job:(chief|worker)/(?:replica:\d+/)?task:(\d+)")


def peer_failure(
    error,  # An exception raised by a training step.
    cluster,  # `Cluster` of this run.
    run_dir,  # The run directory to resume from (the chief's), or None when unknown.
):
    """One line saying which worker was lost and how to continue, or None if `error` is not that."""
    import tensorflow as tf  # Lazy: see the note at the top (TF_CONFIG is checked without TensorFlow).

    kinds = (
        tf.errors.UnavailableError,
        tf.errors.AbortedError,
        tf.errors.DeadlineExceededError,
        tf.errors.CancelledError,
    )
    if not isinstance(error, kinds):
        return None
    text = str(error)
    # Prefer the tasks named after "unhealthy" (the heartbeat report), then any other task named.
    _, _, after = text.partition("unhealthy")
    lost = None
    for part in (after, text):
        for kind, index in _TASK.findall(part):
            task_id = cluster.find(kind, int(index))
            if task_id is not None and task_id != cluster.id:
                lost = task_id
                break
        if lost is not None:
            break
    who = cluster.name(lost) if lost is not None else "another worker"
    where = run_dir if run_dir is not None else "<the chief's run dir>"
    return (
        f"train.py: error: {who} stopped responding, so {cluster.name()} stops; restart every worker "
        f"with --resume {where} to continue from the last snapshot"
    )


def exit_now(
    line,  # The message, printed to stderr.
    status=3,  # Exit status.
):
    """Print one line and end the process at once: after a lost peer, TensorFlow's orderly
    shutdown would wait for that peer at its shutdown barrier."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(status)
