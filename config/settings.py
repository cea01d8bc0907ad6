"""Settings from the environment and ``.env``; every one is documented in the README."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.hours import CalendarError, WeekTemplate


class SettingsError(ValueError):
    """A setting is wrong; the message names it."""


def parse_address(value: str) -> tuple[str, int]:
    """ "host:port" (an IPv6 host in brackets) -> (host, port); ValueError naming the form."""
    host, sep, port = value.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port, e.g. 127.0.0.1:8080")
    return host, int(port)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    dingtalk_client_id: str = ""
    dingtalk_client_secret: str = ""
    dingtalk_robot_code: str = ""
    dingtalk_openapi_endpoint: str = "https://api.dingtalk.com"
    dingtalk_oapi_endpoint: str = "https://oapi.dingtalk.com"  # the media upload (legacy API)
    # an interactive card template (README, 互动卡片): messages with actions go as cards
    dingtalk_card_template_id: str = ""
    database_url: str = "sqlite:///data/bot.db"
    bot_files_dir: Path = Path("data/files")  # pictures and files towns send
    bot_org_file: Path = Path("config/org.toml")
    bot_calendar_file: Path = Path("config/calendar.txt")
    bot_timezone: str = "Asia/Shanghai"
    bot_office_hours: str = Field(default="mon-fri 09:00-12:00 13:00-17:00")
    bot_sweep_seconds: float = Field(default=60.0, gt=0)
    # several instances on PostgreSQL: how often a follower tries to take the lease and the
    # leader checks it still holds it
    bot_leader_poll_seconds: float = Field(default=5.0, gt=0, le=60)
    bot_log_level: str = "INFO"
    bot_clock_file: Path | None = None  # rehearsals and tests: the bot's "now" is read from it
    # how long a message being sent is reserved for its sender: after a crash, it goes again then
    bot_outbox_lease_seconds: float = Field(default=60.0, gt=0)
    # DingTalk's limit for a robot's messages to one group a minute (DINGTALK.md §5.6)
    bot_group_messages_per_minute: int = Field(default=20, gt=0)
    bot_http: str = ""  # "host:port" of /healthz and /metrics (bot.health); empty: off
    bot_stream_silence_seconds: float = Field(default=90.0, gt=0)  # watchdog (bot.stream)
    # /healthz fails when the oldest pending outbox row is older than this
    bot_health_outbox_age_seconds: float = Field(default=900.0, gt=0)

    bot_pid_file: Path = Path("data/bot.pid")  # written at start, removed at exit (bot reload)
    bot_backup_dir: str = ""  # the daily backup's folder; empty: no daily backup
    bot_backup_keep: int = Field(default=14, ge=1)  # days a daily backup is kept
    bot_backup_at: str = "02:30"  # local time of the daily backup, HH:MM

    @field_validator("dingtalk_openapi_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://api.dingtalk.com")
        return value

    @field_validator("bot_http")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_address(value)
        return value

    @field_validator("bot_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("bot_office_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            WeekTemplate.parse(value)
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("bot_log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def http_address(self) -> tuple[str, int] | None:
        """BOT_HTTP as (host, port); None: off."""
        return parse_address(self.bot_http) if self.bot_http else None

    @field_validator("bot_backup_at")
    @classmethod
    def _backup_at(cls, value: str) -> str:
        try:
            dt.datetime.strptime(value.strip(), "%H:%M")  # noqa: DTZ007
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day as HH:MM, e.g. 02:30") from None
        return value.strip()

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @cached_property
    def week_template(self) -> WeekTemplate:
        return WeekTemplate.parse(self.bot_office_hours)


def load_settings(**overrides: object) -> Settings:
    """Settings, or SettingsError naming each wrong variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
