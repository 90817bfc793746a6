"""Secrets: any key, list sections included, comes from the environment, a ``*_FILE`` file or a
systemd credential; no secret value (webhook URLs included) is ever printed: not in config
errors, logs, healthchecks or dead-letter reasons."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from newsradar.errors import ConfigError
from newsradar.logging import setup_logging
from newsradar.schemas import Alert, DeadLetter, alert_id
from newsradar.settings import WebhookSinkSettings, load_settings
from sinks.apprise import AppriseSink
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.webhook import WebhookSink
from tests.conftest import REPO, clean_env, free_ports
from tests.feedserver import FeedServer, Reply, feed_server

TOKEN = "T0SECRET/B0SECRET/XXXXtokenXXXX"
PASSWORD = "pa55-Secret-word"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsradar.toml"
    path.write_text(text)
    return path


LISTS = """
[[sinks.webhooks]]
name = "ops-desk"
url = "https://hooks.example.org/services/placeholder"

[[sinks.emails]]
name = "desk"
host = "smtp.example.org"
username = "newsradar"
sender = "newsradar@example.org"
recipients = ["desk@example.org"]
"""


def test_list_sections_take_secrets_from_the_environment_by_name_or_index(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, LISTS)
    settings = load_settings(
        path,
        env={
            # By name ("-" written "_", as variable names allow), and by position.
            "NEWSRADAR_SINKS__WEBHOOKS__OPS_DESK__URL": f"https://hooks.slack.com/services/{TOKEN}",
            "NEWSRADAR_SINKS__WEBHOOKS__0__SECRET": "whsec_c2VjcmV0",
            "NEWSRADAR_SINKS__EMAILS__DESK__PASSWORD": PASSWORD,
            "NEWSRADAR_SINKS__EMAILS__DESK__NOISE__MAX_PER_WINDOW": "3",
        },
    )
    (hook,) = settings.sinks.webhooks
    assert hook.url.get_secret_value() == f"https://hooks.slack.com/services/{TOKEN}"
    assert hook.secret is not None
    assert hook.secret.get_secret_value() == "whsec_c2VjcmV0"
    (mail,) = settings.sinks.emails
    assert mail.password is not None
    assert mail.password.get_secret_value() == PASSWORD
    assert mail.noise.max_per_window == 3
    assert TOKEN not in repr(settings)
    assert PASSWORD not in repr(settings)
    assert str(hook.url) == "https://hooks.slack.com/…"


def test_a_whole_list_section_can_come_from_the_environment() -> None:
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_SINKS__WEBHOOKS__0__NAME": "ops",
            "NEWSRADAR_SINKS__WEBHOOKS__0__URL": "https://hooks.example.org/a",
            "NEWSRADAR_SINKS__WEBHOOKS__1__NAME": "slack",
            "NEWSRADAR_SINKS__WEBHOOKS__1__URL": "https://hooks.slack.com/b",
            "NEWSRADAR_SINKS__WEBHOOKS__1__MODE": "slack",
        },
    )
    assert [(h.name, h.mode) for h in settings.sinks.webhooks] == [
        ("ops", "json"),
        ("slack", "slack"),
    ]
    with pytest.raises(ConfigError, match=r"NEWSRADAR_SINKS__WEBHOOKS__2__URL: .*\[2\]"):
        load_settings(None, env={"NEWSRADAR_SINKS__WEBHOOKS__2__URL": "https://h.example/x"})


def test_secrets_from_files_and_systemd_credentials(tmp_path: Path) -> None:
    path = write(tmp_path, LISTS)
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text("whsec_ZmlsZQ==\n")  # as `echo ... > file` leaves it
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "NEWSRADAR_SINKS__EMAILS__DESK__PASSWORD").write_text(PASSWORD)
    (credentials / "NEWSRADAR_SINKS__POSTGRES__DSN").write_text("postgresql://u:pw@db/nr")
    (credentials / "unrelated-credential").write_text("ignored")
    rules = tmp_path / "rules.yaml"
    settings = load_settings(
        path,
        env={
            "NEWSRADAR_SINKS__WEBHOOKS__OPS_DESK__SECRET_FILE": str(secret_file),
            "CREDENTIALS_DIRECTORY": str(credentials),
            "NEWSRADAR_SINKS__POSTGRES__ENABLED": "true",
            # A key whose own name ends in _file is that key, not a file form.
            "NEWSRADAR_PROCESSORS__RULES_FILE": str(rules),
        },
    )
    secret = settings.sinks.webhooks[0].secret
    assert secret is not None
    assert secret.get_secret_value() == "whsec_ZmlsZQ=="
    password = settings.sinks.emails[0].password
    assert password is not None
    assert password.get_secret_value() == PASSWORD
    assert settings.sinks.postgres.dsn.get_secret_value() == "postgresql://u:pw@db/nr"
    assert settings.processors.rules_file == rules


def test_file_form_errors_name_the_variable_and_the_fix_not_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings(None, env={"NEWSRADAR_KAFKA__SASL_PASSWORD_FILE": str(tmp_path / "nowhere")})
    assert "NEWSRADAR_KAFKA__SASL_PASSWORD_FILE" in str(missing.value)
    assert "nowhere" in str(missing.value)
    secret_file = tmp_path / "pw"
    secret_file.write_text(PASSWORD)
    with pytest.raises(ConfigError) as both:
        load_settings(
            None,
            env={
                "NEWSRADAR_KAFKA__SASL_PASSWORD": PASSWORD,
                "NEWSRADAR_KAFKA__SASL_PASSWORD_FILE": str(secret_file),
            },
        )
    assert "set either" in str(both.value)
    assert PASSWORD not in str(both.value)


BAD_SECRETS = f"""
[sinks.postgres]
enabled = true
dsn = ["postgresql://newsradar:{PASSWORD}@db/nr"]

[[sinks.webhooks]]
name = "ops"
url = "ftp://hooks.example.org/services/{TOKEN}"
secret = 1234567890987654321

[[sinks.emails]]
name = "desk"
host = "smtp.example.org"
username = "newsradar"
password = ["{PASSWORD}"]
sender = "newsradar@example.org"
recipients = ["desk@example.org"]
"""


def test_config_errors_never_echo_a_secret(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_SECRETS)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"NEWSRADAR_KAFKA__SASL_PASSWORD": "1"})
    text = str(info.value)
    for secret in (PASSWORD, TOKEN, "XXXXtokenXXXX", "1234567890987654321"):
        assert secret not in text
    assert "sinks.webhooks.0.url = 'ftp://hooks.example.org/…'" in text
    assert "sinks.webhooks.0.secret = '***'" in text
    assert "sinks.postgres.dsn = '***'" in text
    assert "sinks.emails.0.password = '***'" in text
    # As a user sees it: `newsradar config check`, one line per key, no traceback.
    proc = subprocess.run(
        [sys.executable, "-m", "newsradar", "config", "check", str(path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    for secret in (PASSWORD, TOKEN, "XXXXtokenXXXX", "1234567890987654321"):
        assert secret not in proc.stderr + proc.stdout


@pytest.fixture
def receiver() -> FeedServer:
    with feed_server() as server:
        yield server  # type: ignore[misc]


def test_webhook_urls_stay_out_of_errors_healthchecks_and_dead_letters(
    receiver: FeedServer, tmp_path: Path
) -> None:
    url = receiver.url(f"/services/{TOKEN}")
    receiver.routes[f"/services/{TOKEN}"] = Reply(422, b'{"error": "unknown channel"}')
    hook = WebhookSink(WebhookSinkSettings.model_validate({"name": "ops", "url": url}), tmp_path)
    alert = Alert(
        id=alert_id("r", "a"),
        rule_id="r",
        article_id="a",
        article_published="2026-11-29T00:00:00Z",  # type: ignore[arg-type]
    )
    try:
        health = hook.healthcheck()
        with pytest.raises(PermanentSinkError) as refused:
            hook.write([alert])
    finally:
        hook.close()
    assert health.ok
    assert TOKEN not in health.detail
    assert f"http://127.0.0.1:{receiver.port}/…" in health.detail
    dead = DeadLetter.for_value(b"{}", stage="sinks", error=refused.value)
    assert TOKEN not in dead.reason
    assert "HTTP 422" in dead.reason
    (port,) = free_ports(1)
    gone = WebhookSink(
        WebhookSinkSettings.model_validate(
            {"name": "gone", "url": f"http://127.0.0.1:{port}/services/{TOKEN}"}
        ),
        tmp_path / "gone",
    )
    try:
        with pytest.raises(TransientSinkError) as unreachable:
            gone.write([alert])
        down = gone.healthcheck()
    finally:
        gone.close()
    assert TOKEN not in str(unreachable.value)
    assert not down.ok
    assert TOKEN not in down.detail


def test_sinks_check_logs_no_webhook_token(receiver: FeedServer, tmp_path: Path) -> None:
    receiver.routes[f"/services/{TOKEN}"] = Reply(200)
    env = clean_env(
        NEWSRADAR_DATA_DIR=str(tmp_path),
        NEWSRADAR_SINKS__WEBHOOKS__0__NAME="ops",
        NEWSRADAR_SINKS__WEBHOOKS__0__URL=receiver.url(f"/services/{TOKEN}"),
        NEWSRADAR_SINKS__WEBHOOKS__0__SECRET=PASSWORD,
    )
    for level in ("INFO", "DEBUG"):
        proc = subprocess.run(
            [sys.executable, "-m", "newsradar", "--log-level", level, "sinks", "check"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "webhook-ops: ok" in proc.stdout
        output = proc.stdout + proc.stderr
        assert TOKEN not in output
        assert PASSWORD not in output
    assert receiver.requests  # the healthcheck really called the receiver


def test_variables_that_cannot_apply_are_one_line_errors_without_the_value(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, f'[sinks]\nwebhooks = ["https://hooks.slack.com/services/{TOKEN}"]\n')
    with pytest.raises(ConfigError) as not_a_table:
        load_settings(path, env={"NEWSRADAR_SINKS__WEBHOOKS__0__SECRET": PASSWORD})
    assert str(not_a_table.value) == (
        "NEWSRADAR_SINKS__WEBHOOKS__0__SECRET: sinks.webhooks.0 is not a table in the config "
        "file; write it as a [[sinks.webhooks]] table"
    )
    with pytest.raises(ConfigError) as in_file:
        load_settings(path, env={})
    assert TOKEN not in str(in_file.value)
    assert str(in_file.value).startswith("sinks.webhooks.0 (")
    with pytest.raises(ConfigError, match="names an item of sinks.webhooks, not a key in it"):
        load_settings(None, env={"NEWSRADAR_SINKS__WEBHOOKS__OPS": PASSWORD})


def test_apprise_urls_stay_out_of_logs_checks_and_errors(
    receiver: FeedServer, tmp_path: Path
) -> None:
    """Apprise logs whole URLs at DEBUG (and urllib3 the path): none of it reaches newsradar's
    log at any level; `sinks check` and a failing send name the URL as `json://…`."""
    receiver.routes[f"/services/{TOKEN}"] = Reply(503)
    url = f"json://user:{PASSWORD}@127.0.0.1:{receiver.port}/services/{TOKEN}"
    env = clean_env(
        NEWSRADAR_DATA_DIR=str(tmp_path),
        NEWSRADAR_SINKS__APPRISE__0__NAME="team",
        NEWSRADAR_SINKS__APPRISE__TEAM__URLS=f'["{url}"]',
    )
    proc = subprocess.run(
        [sys.executable, "-m", "newsradar", "--log-level", "DEBUG", "sinks", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "apprise-team: ok" in proc.stdout
    for secret in (TOKEN, "XXXXtokenXXXX", PASSWORD):
        assert secret not in proc.stdout + proc.stderr
    setup_logging("DEBUG")
    chat = AppriseSink(load_settings(None, env=env).sinks.apprise[0], tmp_path)
    alert = Alert(
        id=alert_id("r", "a"),
        rule_id="r",
        article_id="a",
        article_published="2026-11-29T00:00:00Z",  # type: ignore[arg-type]
    )
    try:
        with pytest.raises(TransientSinkError) as failing:
            chat.write([alert])
    finally:
        chat.close()
    assert receiver.posts  # it really tried
    assert "urls[0] json://…" in str(failing.value)
    for secret in (TOKEN, "XXXXtokenXXXX", PASSWORD):
        assert secret not in str(failing.value)
    assert logging.getLogger("apprise").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("urllib3").getEffectiveLevel() == logging.WARNING
