"""Noise control: when held alerts are due, and that the gate holds without losing any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsradar.errors import ConfigError
from newsradar.schemas import Alert, alert_id
from newsradar.settings import NoiseSettings, Weekday, load_settings
from sinks.noise import NoiseGate, Policy

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def alert(n: int, rule: str = "iraq-russia") -> Alert:
    return Alert(
        id=alert_id(rule, f"a{n}"),
        rule_id=rule,
        article_id=f"a{n}",
        score=5,
        article_title=f"Story {n}",
        article_published=T0,
    )


def test_quiet_hours_wrap_midnight_in_the_configured_zone() -> None:
    # Baghdad is UTC+3: 22:00-07:00 local is 19:00-04:00 UTC.
    policy = Policy(NoiseSettings(quiet_hours="22:00-07:00", timezone="Asia/Baghdad"))
    assert policy.quiet_until(T0) is None  # 15:00 in Baghdad
    evening = T0.replace(hour=20)  # 23:00 local
    assert policy.quiet_until(evening) == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    early = T0.replace(hour=2)  # 05:00 local, same night
    assert policy.quiet_until(early) == datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    assert policy.quiet_until(T0.replace(hour=4)) is None  # 07:00 local: over
    daytime = Policy(NoiseSettings(quiet_hours="12:00-13:30"))
    assert daytime.quiet_until(T0.replace(minute=59)) == T0.replace(hour=13, minute=30)


def test_digest_cadence_due_at_the_next_hour_or_daily_time() -> None:
    cadences = {"hourly-rule": "hourly", "daily-rule": "daily"}
    policy = Policy(
        NoiseSettings(timezone="Asia/Baghdad"),
        cadence=lambda rule: cadences.get(rule, "immediate"),  # type: ignore[arg-type, return-value]
        daily_at="08:00",
    )
    now = T0.replace(minute=25)
    assert policy.digest_due("other", now) is None
    assert policy.digest_due("hourly-rule", now) == (T0.replace(hour=13), "hourly")
    # 08:00 in Baghdad is 05:00 UTC; 12:25 UTC is past it, so tomorrow's.
    assert policy.digest_due("daily-rule", now) == (
        datetime(2026, 11, 30, 5, 0, tzinfo=UTC),
        "daily",
    )
    assert policy.digest_due("daily-rule", T0.replace(hour=4)) == (
        T0.replace(hour=5),
        "daily",
    )


def test_weekly_cadence_due_at_the_daily_time_of_the_configured_day() -> None:
    # T0 is Sunday 29 November 2026, 12:00 UTC (15:00 in Baghdad).
    def weekly(on: Weekday) -> Policy:
        return Policy(
            NoiseSettings(timezone="Asia/Baghdad"),
            cadence=lambda _rule: "weekly",
            daily_at="08:00",
            weekly_on=on,
        )

    assert T0.weekday() == 6
    monday = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # 08:00 in Baghdad
    assert weekly("monday").digest_due("r", T0) == (monday, "weekly")
    # Sunday's 08:00 has passed: next Sunday's, not today's.
    assert weekly("sunday").digest_due("r", T0) == (monday + timedelta(days=6), "weekly")
    assert weekly("sunday").digest_due("r", T0.replace(hour=4)) == (T0.replace(hour=5), "weekly")
    assert weekly("saturday").digest_due("r", T0) == (monday + timedelta(days=5), "weekly")
    # Due exactly now means the next week's: a digest is never due in the past.
    assert weekly("monday").digest_due("r", monday) == (monday + timedelta(days=7), "weekly")


def test_weekly_alerts_are_held_until_the_week_is_due(tmp_path: Path) -> None:
    policy = Policy(NoiseSettings(), cadence=lambda _rule: "weekly", weekly_on="wednesday")
    gate = NoiseGate(tmp_path / "held.sqlite", policy)
    assert gate.split([alert(1), alert(2)], T0) == []
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert gate.due(wednesday - timedelta(seconds=1)) == []
    (digest,) = gate.due(wednesday)
    assert digest.reasons == ("weekly",)
    assert sorted(a.article_id for a in digest.alerts) == ["a1", "a2"]
    gate.close()


def test_throttle_holds_the_rest_until_the_window_frees(tmp_path: Path) -> None:
    gate = NoiseGate(
        tmp_path / "held.sqlite", Policy(NoiseSettings(max_per_window=2, window_seconds=600))
    )
    first = gate.split([alert(1), alert(2), alert(3), alert(9, "other")], T0)
    assert [a.article_id for a in first] == ["a1", "a2", "a9"]  # limits are per rule
    gate.note_sent(first, T0)
    later = T0 + timedelta(minutes=5)
    assert gate.split([alert(4)], later) == []
    assert gate.held_count() == 2
    assert gate.due(T0 + timedelta(seconds=599)) == []
    (digest,) = gate.due(T0 + timedelta(minutes=10))
    assert (digest.rule_id, digest.reasons) == ("iraq-russia", ("throttle",))
    assert [a.article_id for a in digest.alerts] == ["a3", "a4"]
    assert digest.id == gate.due(T0 + timedelta(minutes=10))[0].id  # stable until done
    gate.done(digest)
    assert gate.due(T0 + timedelta(days=1)) == []
    # Once the sends left the window, alerts go one by one again.
    assert [a.article_id for a in gate.split([alert(5)], T0 + timedelta(minutes=11))] == ["a5"]
    gate.close()


def test_held_alerts_survive_a_restart_and_are_held_once(tmp_path: Path) -> None:
    policy = Policy(NoiseSettings(quiet_hours="00:00-23:59"))
    gate = NoiseGate(tmp_path / "held.sqlite", policy)
    assert gate.split([alert(1), alert(2)], T0) == []
    gate.close()
    again = NoiseGate(tmp_path / "held.sqlite", policy)
    assert again.split([alert(2)], T0) == []  # redelivered from Kafka: still one row
    (digest,) = again.due(T0 + timedelta(days=1))
    assert sorted(a.article_id for a in digest.alerts) == ["a1", "a2"]
    assert digest.reasons == ("quiet-hours",)
    again.close()


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("TIMEZONE", "Mars/Olympus", "unknown IANA time zone 'Mars/Olympus'"),
        ("QUIET_HOURS", "25:00-07:00", "'25:00' is not a time of day"),
        ("QUIET_HOURS", "late", "should match pattern"),
    ],
)
def test_bad_noise_settings_name_the_key(
    tmp_path: Path, key: str, value: str, fragment: str
) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text(
        '[[sinks.webhooks]]\nname = "ops"\nurl = "https://hooks.example.org/x"\n'
        f'[sinks.webhooks.noise]\n{key.lower()} = "{value}"\n'
    )
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert fragment in str(error.value)
    assert f"noise.{key.lower()}" in str(error.value)
