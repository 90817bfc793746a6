from __future__ import annotations

from pathlib import Path

import pytest

from newsradar.errors import ConfigError
from newsradar.settings import Settings, load_settings
from tests.conftest import REPO

EXAMPLE = REPO / "deploy" / "newsradar.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsradar.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_local_broker() -> None:
    s = load_settings(None, env={})
    assert s.uses_local_broker
    assert s.bootstrap_servers == ["127.0.0.1:9092"]
    assert [t.name for t in s.topics.all()] == [
        "newsradar.articles",
        "newsradar.alerts",
        "newsradar.deadletter",
        "newsradar.rules",
        "newsradar.feeds",
        "newsradar.feed-state",
    ]
    assert [t.name for t in s.topics.all() if t.compacted] == [
        "newsradar.rules",
        "newsradar.feeds",
        "newsradar.feed-state",
    ]


def test_documented_example_config_is_the_defaults() -> None:
    assert load_settings(EXAMPLE, env={}) == Settings()


def test_file_values_are_read_and_env_overrides_them(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[broker]\nport = 19092\n[topics.articles]\nname = "a"\npartitions = 3\n'
    )
    s = load_settings(path, env={})
    assert (s.broker.port, s.topics.articles.name, s.topics.articles.partitions) == (19092, "a", 3)
    s = load_settings(
        path,
        env={
            "NEWSRADAR_BROKER__PORT": "29092",
            "NEWSRADAR_TOPICS__ARTICLES__PARTITIONS": "16",
            "NEWSRADAR_DATA_DIR": "/srv/nr",
            "NEWSRADAR_KAFKA_BOOTSTRAP": "k1:9092, k2:9092",
            "UNRELATED": "x",
        },
    )
    assert (s.broker.port, s.topics.articles.partitions) == (29092, 16)
    assert s.data_dir == Path("/srv/nr")
    assert not s.uses_local_broker
    assert s.bootstrap_servers == ["k1:9092", "k2:9092"]


def test_config_file_from_env_var(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nport = 1234\n")
    assert load_settings(None, env={"NEWSRADAR_CONFIG": str(path)}).broker.port == 1234


def test_every_bad_key_is_named_with_its_value_and_source(tmp_path: Path) -> None:
    path = write(tmp_path, '[broker]\nport = 70000\nheap = 1\n[kafka]\nsecurity_protocol = "TLS"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"NEWSRADAR_BROKER__CONTROLLER_PORT": "abc"})
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    text = str(info.value)
    assert f"broker.port = 70000 ({path}): Input should be less than or equal to 65535" in text
    assert f"broker.heap = 1 ({path}): unknown key" in text
    assert "kafka.security_protocol = 'TLS'" in text
    assert "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'" in text
    assert "broker.controller_port = 'abc' (env NEWSRADAR_BROKER__CONTROLLER_PORT)" in text


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nport = \n")
    with pytest.raises(ConfigError, match=r"newsradar.toml: not valid TOML: .*line 2"):
        load_settings(path, env={})


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found; create it from deploy/"):
        load_settings(tmp_path / "nope.toml", env={})


def test_sasl_needs_credentials_and_secrets_are_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SASL_SSL needs sasl_mechanism, sasl_username"):
        load_settings(None, env={"NEWSRADAR_KAFKA__SECURITY_PROTOCOL": "SASL_SSL"})
    s = load_settings(
        None,
        env={
            "NEWSRADAR_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "NEWSRADAR_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "NEWSRADAR_KAFKA__SASL_USERNAME": "u",
            "NEWSRADAR_KAFKA__SASL_PASSWORD": "hunter2",
            "NEWSRADAR_KAFKA__SSL_CAFILE": "/ca.pem",
        },
    )
    options = s.kafka.client_options()
    assert options["sasl_plain_password"] == "hunter2"
    assert options["ssl_cafile"] == "/ca.pem"
    assert "hunter2" not in repr(s)


def test_broker_ports_must_differ() -> None:
    with pytest.raises(ConfigError, match="port and controller_port are both 9093"):
        load_settings(None, env={"NEWSRADAR_BROKER__PORT": "9093"})


def test_overriding_one_key_of_a_section_keeps_its_other_defaults(tmp_path: Path) -> None:
    s = load_settings(None, env={"NEWSRADAR_TOPICS__ALERTS__PARTITIONS": "2"})
    assert (s.topics.alerts.name, s.topics.alerts.partitions) == ("newsradar.alerts", 2)
    path = write(tmp_path, "[topics.deadletter]\npartitions = 3\n")
    assert load_settings(path, env={}).topics.deadletter.name == "newsradar.deadletter"
