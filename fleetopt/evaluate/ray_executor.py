"""The Ray executor: an evaluation's chunks as Ray tasks (:class:`RayExecutor`), on the backend it
chooses for the cluster; Ray joined or started with the command's stop kept (:func:`_ray_init`), the
head named by --ray-address checked before Ray is asked to join it (:func:`check_ray_head`), a
worker of other fleetopt code refused (:func:`fleetopt_code`), a lost worker or node a resumable stop.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from contextlib import suppress

import fleetopt
from fleetopt.core.data import ModelData
from fleetopt.errors import InputError
from fleetopt.evaluate.backend import BackendError
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.jobs import WorkerLost, _ray_chunk, gather_chunks
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.runs import folder as run_folder


def fleetopt_code() -> tuple[str, str]:
    """This process's fleetopt: its version and the fingerprint of the code computing the figures
    (:func:`~fleetopt.runs.code_stamp.figures_code`, which a job.json keeps)."""
    return fleetopt.__version__, run_folder.figures_code()


def _on_the_drivers_code(chunk_function):
    """``chunk_function`` as a task that first refuses a worker whose fleetopt is not this process's
    (:func:`fleetopt_code`): its figures may differ (a node of an older image), and the run mixed
    them with this code's in silence, as a job resumed by other code would (which job.json's
    fingerprint refuses). A closure, which Ray sends by value, naming only what every fleetopt has:
    a worker of a fleetopt before this check runs it too."""
    driver = fleetopt_code()

    def task(*args):
        # the modules, sent by name, are the worker's own (a fleetopt before the fingerprint has none);
        # read through runs.folder (which imports it from runs/code_stamp.py), a module every fleetopt
        # has: a worker's fleetopt older than runs/code_stamp.py would fail to load this task
        code = getattr(run_folder, "figures_code", None)
        here = (fleetopt.__version__, code() if code else "none")
        if here != driver:
            raise InputError(
                f"a Ray worker on {socket.gethostname()} runs fleetopt {here[0]} (code {here[1]}), not "
                f"the driver's fleetopt {driver[0]} (code {driver[1]}): its figures may differ, and the "
                "run would mix them; install the driver's fleetopt on every node of the cluster (the "
                "same image), or run on this machine with --executor local (the chunks saved are kept: "
                "--resume)"
            )
        return chunk_function(*args)

    return task


def _ray_init(ray, **settings) -> None:
    """``ray.init(**settings)``, SIGTERM left to the handler it had (the command's: a stop, exit 130,
    saying what is saved). Ray's driver sets its own as it starts (sys.exit(15); its local node's:
    exit 1), which ended a run stopped then, or before its chunks began, without a word and left
    processes of the local instance running; a stop while Ray starts (the SystemExit of Ray's
    handler, or a Ctrl-C) shuts down what it started and is a stop (KeyboardInterrupt). A program
    that leaves SIGTERM to its default action (or another thread than the main one, which cannot set
    handlers) keeps Ray's, which shuts Ray down before it exits."""
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None) or threading.current_thread() is not threading.main_thread():
        ray.init(**settings)
        return
    try:
        ray.init(**settings)
        stopped = False
    except (SystemExit, KeyboardInterrupt):  # only Ray's SIGTERM handler exits inside ray.init
        stopped = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopped:
        # best effort: a second stop, or an instance too broken to shut down, leaves the stop as it is
        with suppress(Exception, KeyboardInterrupt):
            ray.shutdown()
        raise KeyboardInterrupt


def _ray_join_errors(ray) -> tuple[type[BaseException], ...]:
    """What ``ray.init(address=...)`` raises where it cannot join a cluster: ConnectionError, and
    (Ray releases with token authentication) AuthenticationError, where a token is asked for and none
    is set."""
    refused = getattr(getattr(ray, "exceptions", None), "AuthenticationError", None)
    return (ConnectionError, refused) if isinstance(refused, type) else (ConnectionError,)


def _not_joined(address: str, exc: BaseException) -> str:
    """Why Ray could not join the cluster at ``--ray-address`` ``address``, in fleetopt's options and
    with what to do: Ray's own message names its `--address` flag, and where a head requires a token
    (Ray 2.60's `ray start --head` does once ~/.ray/auth_token exists, which a local Ray run writes)
    it said only "Failed to connect", after 20 s of retries."""
    if address == "auto":
        return ("--ray-address auto: Ray found no cluster on this machine to join: start one (ray start "
                "--head), give its head as HOST:PORT, or leave --ray-address out to start a local one "
                "for the run")  # fmt: skip
    said = " ".join(str(exc).split())
    if not isinstance(exc, ConnectionError):  # Ray's word on the token asked for: what to set
        return f"--ray-address {address}: Ray could not join the cluster there: {said}"
    return (f"--ray-address {address}: Ray could not join the cluster there ({said}). Where its head "
            "requires a token (Ray's token authentication), set RAY_AUTH_MODE=token here, with the head's "
            "token in ~/.ray/auth_token or RAY_AUTH_TOKEN; otherwise check that the port is the head's (6379 "
            "unless `ray start --port` chose another)")  # fmt: skip


class RayExecutor:
    """Chunks as Ray tasks (one GPU each where the cluster has GPUs), retried when a worker dies.

    Each task runs the backend :meth:`choose` picked (CuPy on a cluster with GPUs unless told
    otherwise; else NumPy, or the C build of the kernel as in worker processes here), one thread."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3):
        try:
            import ray
        except ImportError:
            raise RayUnavailable(
                'the Ray executor needs Ray: pip install "fleetopt[ray]" (or drop --executor ray)'
            ) from None
        self.ray = ray
        self.max_retries = max_retries
        if not ray.is_initialized():
            if address is not None:  # an empty one refused, not read as none: a local cluster
                check_ray_head(address)
                try:
                    _ray_init(ray, address=address, ignore_reinit_error=True, log_to_driver=False)
                except _ray_join_errors(ray) as exc:  # Ray's words name its own `--address` flag
                    raise RayUnavailable(_not_joined(address, exc)) from None
            else:  # a new local instance for the run, even beside a cluster `ray start` left running
                _ray_init(ray, address="local", num_cpus=num_cpus, ignore_reinit_error=True,
                          log_to_driver=False, include_dashboard=False)  # fmt: skip
        self.chunk_function = _ray_chunk
        resources = ray.cluster_resources()
        self.gpus, self.cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        self._use("cupy" if self.gpus else "numpy")

    def _use(self, backend_name: str, note: str = "", fallback: bool = False) -> None:
        self.backend_name, self.fallback = backend_name, fallback
        # a task per GPU on CuPy, else per CPU (a cluster's GPUs left idle by a CPU backend)
        self.parallelism = self.gpus if backend_name == "cupy" else max(self.cpus, 1)
        kind = {"cupy": "CuPy", "numpy": "NumPy", "cpu-kernel": "fused kernel built as C"}[backend_name]
        self.device = f"Ray cluster ({self.cpus} CPUs, {self.gpus} GPUs; {kind})"
        self.device += f"; {note}" if note else ""

    def choose(self, name: str, data: ModelData, plans: PlanBatch, n_scenarios: int) -> None:
        """The backend of every task for the backend ``name`` asked for: ``auto`` and ``cupy`` run
        CuPy on a cluster with GPUs (``cupy`` without one is refused); otherwise the choice of
        worker processes on this machine (``backend_choice.choose_backend``, one thread), made and
        built here. Where ``auto`` chose the C build, a task whose node cannot build it runs NumPy."""
        if name in ("auto", "cupy") and self.gpus:
            return self._use("cupy")
        if name == "cupy":
            raise BackendError(
                f"backend 'cupy' (--backend cupy): the Ray cluster has no GPUs ({self.cpus} CPUs): "
                "drop --backend cupy to run its CPUs, or join a cluster with GPU workers (--ray-address)"
            )
        be = choose_backend(name, 1, data, plans, n_scenarios, gpu=False)
        self._use(be.name, be.note, fallback=name == "auto")

    def run(self, data: ModelData, plans: PlanBatch, spec, chunks, store=None, progress=None) -> list[dict]:
        ray = self.ray
        gpus = 1 if self.backend_name == "cupy" else 0
        task = ray.remote(num_gpus=gpus, max_retries=self.max_retries)(
            _on_the_drivers_code(self.chunk_function)
        )
        data_ref = ray.put(data)
        fell_back: list[str] = []

        def next_done(handles):
            ref = ray.wait(handles, num_returns=1)[0][0]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # our own errors read as raised here
                if isinstance(exc.cause, InputError):
                    raise exc.cause from None
                raise
            except _ray_losses(ray) as exc:  # a traceback and exit 1 before, not a word of the chunks saved
                raise _ray_lost(exc) from None
            if "fell_back" in result:
                fell_back.append(result.pop("fell_back"))
            return ref, result

        def submit(chunk):
            return task.remote(data_ref, chunk, spec, self.backend_name, self.fallback)

        def stopped(exc: BaseException, refs: list) -> None:
            # a lost node or raylet is left to Ray (which may end this process), and a stop exits at
            # once (Ray ends the tasks left with this driver): the tasks left are read after an error
            if not isinstance(exc, (WorkerLost, KeyboardInterrupt)):
                _read_tasks_left(ray, refs)

        results = gather_chunks(plans, spec, chunks, store, progress, submit, next_done,
                          in_flight=_RAY_TASKS_PER_WORKER * self.parallelism, stopped=stopped)  # fmt: skip
        computed = sum(1 for r in results if not r.get("stored"))
        if fell_back and len(fell_back) == computed:  # no worker could build it: a NumPy run
            self._use("numpy", f"auto chose the C build of the kernel, and no worker could make it: the "
                               f"build {fell_back[0]}")
        elif fell_back:
            self.device += (
                f"; {len(fell_back)} of {len(chunks)} chunks ran NumPy, on workers where the C build "
                f"of the kernel {fell_back[0]}"
            )
        return results


# the tasks a Ray run keeps submitted per task it runs at once: its workers never wait for the next
# chunk, and a run stopped by a task's error has few tasks left, which it reads rather than cancels
_RAY_TASKS_PER_WORKER = 2


# how long a Ray run stopped by a task's error waits for its other tasks to end
_RAY_WAIT_SECONDS = 5.0


def _read_tasks_left(ray, refs: list) -> None:
    """The results of a Ray run's tasks left running when a task's error stopped it, read, errors
    too, within :data:`_RAY_WAIT_SECONDS`: Ray logged "Unhandled error" and a traceback for each
    task that failed unread, which after one task's error is most of the others (hundreds of lines
    below the run's one-line error). They are not cancelled: ``ray.cancel`` on a task whose reply
    is on its way aborts this process inside Ray (Ray 2.60: "Check failed: it !=
    submissible_tasks_.end() Tried to complete task that was not pending", a C++ stack trace and
    SIGABRT instead of the run's error: the race of a cancel with a task's reply that
    ray-project/ray#54798 mended for retries). The run keeps at most
    :data:`_RAY_TASKS_PER_WORKER` tasks per worker submitted, so few are left to end."""
    with suppress(Exception):
        for ref in ray.wait(refs, num_returns=len(refs), timeout=_RAY_WAIT_SECONDS)[0] if refs else []:
            with suppress(Exception):
                ray.get(ref)


# a Ray worker or node gone past the task's retries (the raylet or node died, the task killed for memory)
RAY_LOST = "a Ray worker or node was lost before its chunk was done, past the task's retries"


RAY_REMEDY = "once the cluster is back, or on this machine with --executor local"


def _ray_losses(ray) -> tuple[type[BaseException], ...]:
    """Ray's errors for a task whose worker, node or result was lost (not the task's own error)."""
    e = ray.exceptions
    return (e.WorkerCrashedError, e.LocalRayletDiedError, e.NodeDiedError, e.ObjectLostError,
            e.OutOfMemoryError)  # fmt: skip


def _ray_lost(exc: BaseException) -> WorkerLost:
    """The run stopped resumably by a lost Ray worker or node, naming Ray's error (its first line)."""
    said = (str(exc).strip().splitlines() or [""])[0]
    return WorkerLost(f"{RAY_LOST} ({type(exc).__name__}: {said})", RAY_REMEDY)


class RayUnavailable(InputError):
    """Ray was asked for and is not installed, or the Ray head named does not answer."""


RAY_CONNECT_SECONDS = 5.0  # a Ray head on a reachable machine accepts a connection in well under this


# HTTP/2's client preface and an empty SETTINGS frame: a Ray head (its GCS, or the Ray Client server of
# ray://) is a gRPC server, whose first frame in answer is a SETTINGS frame of its own
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


_SETTINGS_FRAME = 4  # the type of an HTTP/2 frame, the 4th byte of its 9-byte header


def check_ray_head(address: str, seconds: float = RAY_CONNECT_SECONDS) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing accepts a connection within
    ``seconds``, or where what does is not a gRPC server (:func:`_answers_as_grpc`; not checked where
    Ray is told to use TLS, ``RAY_USE_TLS``): Ray itself retries for minutes (about 14 against a web
    server), printing only its own warnings. ``auto`` (the cluster this machine belongs to) is left to
    Ray."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):  # '²' is a digit to isdigit(), not to int()
        raise RayUnavailable(
            f"--ray-address {address!r}: give the Ray head as HOST:PORT (e.g. 10.0.0.5:6379), "
            "ray://HOST:PORT or auto"
        )
    try:
        connection = socket.create_connection((host.strip("[]"), int(port)), timeout=seconds)
    except (OSError, ValueError) as exc:
        raise RayUnavailable(
            f"--ray-address {address}: no Ray head answers there within {seconds:g} s "
            f"({getattr(exc, 'strerror', None) or exc}): start one (ray start --head) or give its address"
        ) from None
    with connection:
        tls = os.environ.get("RAY_USE_TLS", "0").strip().lower() in ("1", "true")
        if not tls and not _answers_as_grpc(connection, seconds):
            raise RayUnavailable(
                f"--ray-address {address}: what answers there is not a Ray head (it did not answer as "
                f"one, a gRPC server, within {seconds:g} s): give the head's HOST:PORT (6379 unless `ray "
                "start --port` chose another; ray://HOST:10001 for Ray Client)"
            )


def _answers_as_grpc(connection: socket.socket, seconds: float) -> bool:
    """Whether the service on ``connection`` answers HTTP/2's preface as a gRPC server does, with a
    SETTINGS frame, each read within ``seconds`` (a web server answers in HTTP/1.1; others not at all)."""
    connection.settimeout(seconds)
    header = b""
    try:
        connection.sendall(_HTTP2_PREFACE)
        while len(header) < 9 and (part := connection.recv(9 - len(header))):
            header += part
    except OSError:  # a timeout, or the connection closed on us
        return False
    return len(header) == 9 and header[3] == _SETTINGS_FRAME
