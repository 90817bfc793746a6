"""The local single-node Kafka broker: fetch its jars, format storage, start, check, stop.

State lives under ``<data_dir>/kafka/``::

    server.properties   rendered from deploy/kafka/server.properties.template on every start
    log4j2.xml          copied from deploy/kafka/
    cluster.id          generated once; storage is formatted with it on first start
    data/               the broker's log.dirs (topics, metadata)
    logs/server.log     the broker's log; kept after failures for diagnosis
    broker.pid          the running broker's pid

The jars are assembled by Maven from ``deploy/kafka/pom.xml`` once per Kafka version into a cache
shared by all data directories (``$NEWSRADAR_CACHE_DIR``, default ``~/.cache/newsradar``); Maven's
own repository (``~/.m2``) makes later fetches offline.

With an external cluster configured (``kafka.bootstrap``) nothing here runs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import NoReturn

from newsradar.errors import (
    BrokerAlreadyRunning,
    BrokerError,
    BrokerStartTimeout,
    KafkaUnavailableError,
    PortInUseError,
    ToolMissingError,
)
from newsradar.files import private_dir
from newsradar.kafka_admin import describe_cluster
from newsradar.settings import KAFKA_VERSION, Settings

MIN_JAVA = 17
READY_LINE = "Kafka Server started"
CONSOLE_LEVEL_PROPERTY = "newsradar.console.level"
"""log4j2.xml sends the broker's log to stderr at this level (default OFF: detached)."""
_PACKAGE_DEPLOY = Path(__file__).resolve().parent / "_deploy" / "kafka"
_REPO_DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kafka"


def deploy_dir() -> Path:
    """Where the pom, properties template and log4j2 config live (wheel or source checkout)."""
    for candidate in (_PACKAGE_DEPLOY, _REPO_DEPLOY):
        if (candidate / "pom.xml").is_file():
            return candidate
    raise BrokerError(
        f"deploy/kafka/pom.xml not found next to the newsradar package ({_REPO_DEPLOY}); "
        "reinstall newsradar from a complete source checkout"
    )


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("NEWSRADAR_CACHE_DIR"):
        return Path(env["NEWSRADAR_CACHE_DIR"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "newsradar"


@dataclass(frozen=True)
class BrokerPaths:
    root: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> BrokerPaths:
        return cls(settings.data_dir.resolve() / "kafka")

    @property
    def properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.root / "log4j2.xml"

    @property
    def cluster_id(self) -> Path:
        return self.root / "cluster.id"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def console_log(self) -> Path:
        return self.logs / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "broker.pid"


# --- tools -------------------------------------------------------------------------------------


def find_java(env: Mapping[str, str] | None = None) -> str:
    """Path of a ``java`` of version 17 or newer, or :class:`ToolMissingError`."""
    env = os.environ if env is None else env
    candidates = []
    if env.get("JAVA_HOME"):
        candidates.append(str(Path(env["JAVA_HOME"]) / "bin" / "java"))
    found = shutil.which("java", path=env.get("PATH"))
    if found:
        candidates.append(found)
    for java in candidates:
        if not os.access(java, os.X_OK):
            continue
        version = _java_major(java)
        if version is not None and version >= MIN_JAVA:
            return java
        if version is not None:
            raise ToolMissingError(
                f"{java} is Java {version}; Kafka 4 needs Java {MIN_JAVA} or newer: "
                "install openjdk-17-jre-headless or set JAVA_HOME"
            )
    raise ToolMissingError(
        "java not found on PATH or in JAVA_HOME: install Java 17+ "
        "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    )


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def jars_dir(version: str = KAFKA_VERSION, env: Mapping[str, str] | None = None) -> Path:
    pom = deploy_dir() / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes() + version.encode()).hexdigest()[:12]
    return cache_dir(env) / f"kafka-{version}-{digest}" / "libs"


def ensure_jars(version: str = KAFKA_VERSION, env: Mapping[str, str] | None = None) -> Path:
    """The folder holding the broker's classpath, fetched through Maven on first use."""
    env = os.environ if env is None else env
    libs = jars_dir(version, env)
    if (libs / ".complete").is_file():
        return libs
    mvn = shutil.which("mvn", path=env.get("PATH"))
    if mvn is None:
        raise ToolMissingError(
            "mvn not found on PATH; the Kafka broker's jars are fetched with Maven: "
            "install it (apt-get install maven) or use an external cluster (kafka.bootstrap)"
        )
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(deploy_dir() / "pom.xml"),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=900, check=False, env=dict(env)
        )
    except subprocess.TimeoutExpired:
        raise BrokerError(
            "Maven did not finish fetching the Kafka jars within 15 minutes; "
            "check that Maven Central is reachable and try again"
        ) from None
    if proc.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven could not resolve Kafka {version}: {_maven_error(proc.stdout + proc.stderr)}; "
            "check broker.kafka_version and that Maven Central is reachable"
        )
    (staging / ".complete").write_text(version)
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    return libs


def _maven_error(output: str) -> str:
    errors = [ln.removeprefix("[ERROR]").strip() for ln in output.splitlines() if "[ERROR]" in ln]
    errors = [e for e in errors if e and not e.startswith(("->", "Re-run", "To see", "For more"))]
    text = errors[0] if errors else (output.strip().splitlines() or ["no output"])[-1]
    return text[:300]


# --- lifecycle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    address: str
    detail: str


def read_pid(paths: BrokerPaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_broker_process(pid: int) -> bool:
    """True if ``pid`` is alive and is a Kafka broker (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        state = "?"
    return b"kafka.Kafka" in cmdline and state != "Z"


def check_ports_free(settings: Settings) -> None:
    b = settings.broker
    for name, port in (("broker.port", b.port), ("broker.controller_port", b.controller_port)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((b.host, port))
            except OSError as exc:
                raise PortInUseError(
                    f"{name} {port} on {b.host} is not free ({exc.strerror}); "
                    f"stop what holds it or set {name} (NEWSRADAR_BROKER__"
                    f"{name.split('.')[1].upper()}) to a free port"
                ) from None


def render_properties(settings: Settings, paths: BrokerPaths) -> str:
    template = Template((deploy_dir() / "server.properties.template").read_text())
    return template.substitute(
        host=settings.broker.host,
        port=settings.broker.port,
        controller_port=settings.broker.controller_port,
        log_dirs=str(paths.data),
    )


def new_cluster_id() -> str:
    """A random Kafka cluster id (22 URL-safe base64 characters). Like Kafka's own
    Uuid.randomUuid, never one starting with "-": the storage tool would read it as an option
    (one id in 64 did, and `broker start` failed to format storage)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _prepare(settings: Settings) -> tuple[BrokerPaths, list[str]]:
    """Everything before the broker's process: no broker running from this data directory,
    ports free, jars fetched, properties rendered, storage formatted. Returns the paths and
    the JVM's command line up to the main class."""
    paths = BrokerPaths.for_settings(settings)
    address = settings.bootstrap_servers[0]
    pid = read_pid(paths)
    if pid is not None:
        if is_broker_process(pid):
            raise BrokerAlreadyRunning(
                f"a broker is already running from {paths.root} (pid {pid}) at {address}; "
                "stop it first with `newsradar broker stop`"
            )
        paths.pid_file.unlink(missing_ok=True)  # stale: the process is gone
    check_ports_free(settings)
    java = find_java()
    libs = ensure_jars(settings.broker.kafka_version)

    for folder in (paths.data, paths.logs):
        private_dir(folder)  # topics hold every article and alert
    paths.properties.write_text(render_properties(settings, paths))
    shutil.copyfile(deploy_dir() / "log4j2.xml", paths.log4j)
    if not paths.cluster_id.is_file():
        paths.cluster_id.write_text(new_cluster_id())
    classpath = f"{libs}/*"
    jvm = [
        java,
        f"-Xmx{settings.broker.heap_mb}m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}",
        f"-Dkafka.logs.dir={paths.logs}",
        "-cp",
        classpath,
    ]
    if not (paths.data / "meta.properties").is_file():
        fmt = subprocess.run(
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                paths.cluster_id.read_text().strip(),
                "-c",
                str(paths.properties),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if fmt.returncode != 0:
            last = (fmt.stderr.strip() or fmt.stdout.strip() or "no output").splitlines()[-1]
            raise BrokerError(f"formatting Kafka storage in {paths.data} failed: {last[:300]}")
    return paths, jvm


def start(settings: Settings) -> BrokerStatus:
    """Start the local broker in the background and wait until it answers.

    Raises a :class:`BrokerError` subclass, leaving no process behind, if it cannot.
    """
    paths, jvm = _prepare(settings)
    address = settings.bootstrap_servers[0]
    log_offset = paths.server_log.stat().st_size if paths.server_log.exists() else 0
    pid = _spawn_detached([*jvm, "kafka.Kafka", str(paths.properties)], paths.console_log)
    paths.pid_file.write_text(str(pid))
    try:
        _wait_ready(settings, paths, pid, log_offset)
    except BaseException:
        _terminate(pid, settings.broker.stop_timeout_seconds)
        paths.pid_file.unlink(missing_ok=True)
        raise
    return BrokerStatus(True, pid, address, "started")


def run(settings: Settings) -> NoReturn:
    """Run the local broker in the foreground: this process becomes Kafka's JVM (same pid, so a
    service manager supervises and stops Kafka itself), and the broker logs to stderr as well
    as to ``logs/server.log``. Returns only by raising, before the JVM starts."""
    paths, jvm = _prepare(settings)
    argv = [jvm[0], f"-D{CONSOLE_LEVEL_PROPERTY}=INFO", *jvm[1:], "kafka.Kafka"]
    paths.pid_file.write_text(str(os.getpid()))  # the pid Kafka keeps after exec
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(argv[0], [*argv, str(paths.properties)])  # noqa: S606 - argv is ours, no shell
    except OSError as exc:
        paths.pid_file.unlink(missing_ok=True)
        raise BrokerError(f"could not run {argv[0]}: {exc.strerror}") from None


def _spawn_detached(argv: list[str], output: Path) -> int:
    """Start ``argv`` in its own session, output appended to ``output``; it outlives the CLI."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        return os.posix_spawn(
            argv[0],
            argv,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, fd, 2),
                (os.POSIX_SPAWN_CLOSE, fd),
            ],
            setsid=True,
        )
    finally:
        os.close(fd)


def _exit_code(pid: int) -> int | None:
    """The exit code if ``pid`` (our child) has exited, else None; reaps it."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask /proc instead
        return None if is_broker_process(pid) else -1
    return os.waitstatus_to_exitcode(status) if done else None


def _wait_ready(settings: Settings, paths: BrokerPaths, pid: int, log_offset: int) -> None:
    timeout = settings.broker.start_timeout_seconds
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = _exit_code(pid)
        if code is not None:
            raise _start_failure(paths, code, settings)
        if READY_LINE in _log_since(paths.server_log, log_offset):
            remaining = max(1.0, deadline - time.monotonic())
            try:
                describe_cluster(settings, timeout_seconds=min(10.0, remaining))
            except KafkaUnavailableError:
                continue
            return
        time.sleep(0.25)
    raise BrokerStartTimeout(
        f"the broker did not answer at {settings.bootstrap_servers[0]} within {timeout:g}s; "
        f"see {paths.server_log}, or raise broker.start_timeout_seconds on a slow machine"
    )


def _log_since(log: Path, offset: int) -> str:
    try:
        with log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _start_failure(paths: BrokerPaths, code: int, settings: Settings) -> BrokerError:
    text = _log_since(paths.server_log, 0)[-20000:] + _log_since(paths.console_log, 0)[-5000:]
    if "Address already in use" in text:
        return PortInUseError(
            f"the broker could not bind {settings.broker.host}:{settings.broker.port} or "
            f":{settings.broker.controller_port} (address already in use); "
            "set broker.port / broker.controller_port to free ports"
        )
    errors = [ln for ln in text.splitlines() if " ERROR " in ln or "Exception" in ln]
    detail = errors[-1].strip()[:300] if errors else "no error in the log"
    return BrokerError(
        f"the broker exited with code {code} during start: {detail}; see {paths.server_log}"
    )


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. True if it stopped cleanly."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exit_code(pid) is not None or not is_broker_process(pid):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    return False


def stop(settings: Settings) -> BrokerStatus:
    """Stop the local broker cleanly (SIGTERM and wait); SIGKILL after the stop timeout."""
    paths = BrokerPaths.for_settings(settings)
    address = settings.bootstrap_servers[0]
    pid = read_pid(paths)
    if pid is None or not is_broker_process(pid):
        paths.pid_file.unlink(missing_ok=True)
        return BrokerStatus(False, None, address, "not running")
    clean = _terminate(pid, settings.broker.stop_timeout_seconds)
    paths.pid_file.unlink(missing_ok=True)
    detail = "stopped" if clean else "killed after the stop timeout"
    return BrokerStatus(False, pid, address, detail)


def status(settings: Settings, timeout_seconds: float = 5.0) -> BrokerStatus:
    """Whether the configured Kafka answers; for the local broker, also its pid."""
    address = ",".join(settings.bootstrap_servers)
    pid = None
    if settings.uses_local_broker:
        paths = BrokerPaths.for_settings(settings)
        pid = read_pid(paths)
        if pid is None or not is_broker_process(pid):
            detail = "not running" if pid is None else f"not running (stale pid file {pid})"
            return BrokerStatus(False, None, address, detail)
    try:
        info = describe_cluster(settings, timeout_seconds=timeout_seconds)
    except KafkaUnavailableError as exc:
        return BrokerStatus(False, pid, address, str(exc))
    brokers = len(info.get("brokers", []))
    return BrokerStatus(
        True, pid, address, f"cluster {info.get('cluster_id')}, {brokers} broker(s)"
    )


def require_running(settings: Settings) -> None:
    """Fail fast, before a 30 s bootstrap timeout, when the local broker is plainly not running."""
    if not settings.uses_local_broker:
        return
    paths = BrokerPaths.for_settings(settings)
    pid = read_pid(paths)
    if pid is None or not is_broker_process(pid):
        raise KafkaUnavailableError(
            f"the local broker of {settings.data_dir} is not running; start it with "
            "`newsradar broker start`, or set kafka.bootstrap to use an external cluster"
        )
