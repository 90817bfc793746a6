"""deploy/docker: the compose file, the Dockerfile and .dockerignore, checked against what the
services read and serve: settings and their environment names (newsradar/settings.py), the
ports and data directories in the config the compose file mounts, the paths the images write.
No Docker here: the files are parsed, and every claim they make is cross-checked."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from newsradar.settings import Settings, load_settings
from tests.conftest import REPO, free_ports, run_cli

DOCKER = REPO / "deploy" / "docker"
OURS = ("producers", "processors", "sinks", "dashboard")
TOKEN = "0123456789abcdef0123456789abcdef"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def env_example() -> dict[str, str]:
    """deploy/docker/env.example with every line, commented examples too, as set."""
    values = {}
    for raw in (DOCKER / "env.example").read_text().splitlines():
        line = raw.lstrip("# ").strip()
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}``; a variable that is
    neither in ``env`` nor defaulted fails the test, as compose would stop."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        assert op == ":-", f"${{{name}}} is not set in env.example and has no default"
        return rest or ""

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, value)


def container_env(name: str, example: dict[str, str]) -> dict[str, str]:
    """What a newsradar container's process sees: its env_file (the filled-in env.example),
    then its ``environment``, interpolated."""
    service = services()[name]
    env = dict(example) if ".env" in service.get("env_file", []) else {}
    env.update({k: interpolate(str(v), example) for k, v in service["environment"].items()})
    return env


def settings_of(name: str) -> Settings:
    """The settings the service runs on: the mounted config file and its environment."""
    example = {k: v or TOKEN for k, v in env_example().items()}
    env = container_env(name, example)
    mounts = dict(v.split(":")[:2][::-1] for v in services()[name]["volumes"])
    config = DOCKER / mounts[env["NEWSRADAR_CONFIG"]]
    return load_settings(config, env=env)


def listening_ports(name: str, settings: Settings) -> set[int]:
    """The TCP ports a newsradar service serves, from its settings."""
    return {
        "producers": {settings.producers.metrics_port},
        "processors": {settings.processors.metrics_port},
        "sinks": {settings.sinks.metrics_port},
        "dashboard": {settings.dashboard.port},
    }[name]


def named_volume_under(service: dict[str, Any], path: str) -> str | None:
    """The named volume whose mount holds ``path`` in this service, if any."""
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if not source.startswith((".", "/")) and (path + "/").startswith(target.rstrip("/") + "/"):
            return source
    return None


def test_the_newsradar_services_run_real_commands_from_the_image_built_here() -> None:
    found = services()
    built = {n for n, s in found.items() if s.get("build", {}).get("context") == "../.."}
    assert sorted(built) == sorted(OURS)
    for name in OURS:
        assert found[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        command = found[name]["command"]
        assert run_cli(*command, "--help").returncode == 0, name


def test_bind_mounts_exist() -> None:
    for service in services().values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), source


def test_the_env_file_reaches_the_services_and_names_real_settings() -> None:
    """`.env` is every newsradar service's env_file; every variable the compose file reads is
    in env.example, and every NEWSRADAR_* name there and in the compose file is a setting
    (load_settings rejects unknown keys)."""
    example = env_example()
    assert {"NEWSRADAR_TOKEN", "GRAFANA_ADMIN_PASSWORD"} <= set(example)
    assert any(k.startswith("NEWSRADAR_SINKS__") for k in example)
    text = (DOCKER / "docker-compose.yml").read_text()
    assert set(re.findall(r"\$\{([A-Z0-9_]+)", text)) <= set(example)
    for name in OURS:
        assert services()[name]["env_file"] == [".env"], name
        settings = settings_of(name)  # raises ConfigError on any unknown or bad key
        assert settings.data_dir == Path(services()[name]["environment"]["NEWSRADAR_DATA_DIR"])
        assert settings.bootstrap_servers == ["kafka:9092"]
    sinks = settings_of("sinks")
    assert sinks.sinks.postgres.dsn is not None  # the commented examples name real keys
    assert [w.name for w in sinks.sinks.webhooks] == ["ops"]
    assert sinks.kafka.sasl_password is not None


def test_state_is_on_named_volumes_where_each_image_writes() -> None:
    found = services()
    declared = set(compose()["volumes"])
    kafka = found["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert named_volume_under(kafka, log_dirs) == "kafka-data"
    for name in OURS:
        data_dir = str(settings_of(name).data_dir)
        assert named_volume_under(found[name], data_dir) == "newsradar-data", name
    prometheus = found["prometheus"]
    (storage,) = [a.split("=", 1)[1] for a in prometheus["command"] if "storage.tsdb.path" in a]
    assert named_volume_under(prometheus, storage) == "prometheus-data"
    grafana = found["grafana"]
    grafana_data = grafana["environment"].get("GF_PATHS_DATA", "/var/lib/grafana")
    assert named_volume_under(grafana, grafana_data) == "grafana-data"
    used = {
        named_volume_under(s, str(v).split(":")[1])
        for s in found.values()
        for v in s.get("volumes", [])
    } - {None}
    assert used == declared


def test_grafana_takes_its_admin_password_from_the_env_file_with_no_default() -> None:
    grafana = services()["grafana"]["environment"]
    assert re.fullmatch(
        r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", grafana["GF_SECURITY_ADMIN_PASSWORD"]
    )
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_published_ports_are_what_the_services_listen_on() -> None:
    found = services()
    published: dict[str, set[int]] = {}
    for name, service in found.items():
        for port in service.get("ports", []):
            host, host_port, container_port = str(port).split(":")
            assert host == "127.0.0.1", (name, port)
            assert host_port == container_port, (name, port)
            published.setdefault(name, set()).add(int(container_port))
    dashboard = settings_of("dashboard")
    # The one web port: dashboard, API and Atom feeds, open beyond the container with a token.
    assert published["dashboard"] == {dashboard.dashboard.port}
    assert dashboard.dashboard.host == "0.0.0.0"
    assert dashboard.dashboard.token is not None
    for name in OURS:
        assert published.get(name, set()) <= listening_ports(name, settings_of(name)), name
    assert published["prometheus"] == {9090}  # its default --web.listen-address
    assert not [a for a in found["prometheus"]["command"] if "web.listen-address" in a]
    assert published["grafana"] == {3000}  # its default http_port
    assert "GF_SERVER_HTTP_PORT" not in found["grafana"]["environment"]


def probe_of(test: list[str]) -> tuple[str, int, str]:
    """A healthcheck's `python -c` probe: its code, and the port and path it asks for."""
    assert test[:3] == ["CMD", "python", "-c"], test
    (url,) = re.findall(r"'(http://[^']+)'", test[3])
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", url)
    assert match, url
    return test[3], int(match.group(1)), match.group(2)


def test_every_newsradar_service_has_a_healthcheck_asking_the_server_it_runs() -> None:
    for name in OURS:
        service = services()[name]
        _, port, path = probe_of(service["healthcheck"]["test"])
        settings = settings_of(name)
        assert port in listening_ports(name, settings), name
        assert path == ("/healthz" if name == "dashboard" else "/metrics"), name


def test_the_healthcheck_probe_passes_on_an_answer_and_fails_without_one() -> None:
    """The probe's code run for real (the image's python), against a local server answering
    200 and against a port nobody listens on."""
    code, port, path = probe_of(services()["producers"]["healthcheck"]["test"])
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = code.replace(f":{port}/", f":{server.server_port}/")
        ok = subprocess.run([sys.executable, "-c", live], capture_output=True, check=False)
        assert ok.returncode == 0, ok.stderr
        assert seen == [path]
    finally:
        server.shutdown()
        server.server_close()
    (free,) = free_ports(1)
    down = subprocess.run(
        [sys.executable, "-c", code.replace(f":{port}/", f":{free}/")],
        capture_output=True,
        check=False,
    )
    assert down.returncode != 0


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    excluded = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = "".join(
            ".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            for part in re.split(r"(\*\*)", pattern)
        )
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def tracked(under: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", under], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    sources = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for src in line.split()[1:-1]
    ]
    assert "processors/native/" in sources
    for source in sources:
        files = tracked(source)
        assert files, f"{source} is copied but not in the repository"
        kept = [f for f in files if not dockerignore_excludes(f)]
        assert kept == files, f"{source}: .dockerignore leaves out {set(files) - set(kept)}"
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "var/alerts.sqlite",
        "processors/native/target/release/libnewsradar_native.so",
        "newsradar/__pycache__/settings.cpython-311.pyc",
        "deploy/docker/.env",
        "tests/conftest.py",
        "bench/classify.py",
    ):
        assert dockerignore_excludes(path), path


def test_the_image_builds_the_native_core_in_a_stage_and_installs_only_the_runtime() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", dockerfile, flags=re.M)
    assert len(stages) == 3
    names = [name for _, name in stages]
    assert names[-1] == ""  # the runtime stage
    runtime = dockerfile.split(f"FROM {stages[-1][0]}\n")[-1]
    native = dockerfile.split(" AS native\n")[1].split("\nFROM ")[0]
    assert "COPY processors/native/" in native
    assert "wheel" in native
    assert "COPY --from=native /wheels/" in runtime
    assert "-r /tmp/requirements.lock" in runtime
    assert "core.available()" in runtime  # the build fails without the core
    assert "cargo" not in runtime
    assert "rust" not in runtime.lower()
    assert "USER newsradar" in runtime
    assert "NEWSRADAR_DATA_DIR=/var/lib/newsradar" in runtime
