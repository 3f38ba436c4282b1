"""Settings read from the environment, one typed dataclass per service.

A service subclasses `Settings` in its own `config.py`, adding its fields. Every
field is read from the environment variable of the same name in upper case;
`load(overrides)` lets tests pass values directly. A field without a default is
required: loading fails with a clear message when it is missing.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self


class ConfigError(RuntimeError):
    """A required setting is missing or a value cannot be parsed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class FromEnvironment:
    """A dataclass of settings read from the environment (`load`)."""

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] = os.environ) -> Self:
        """Build settings from `overrides` (upper-case names) falling back to the environment."""
        overrides = {k.upper(): v for k, v in (overrides or {}).items()}
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.name.upper()
            if name in overrides:
                raw = overrides[name]
            elif name in environ:
                raw = environ[name]
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{name} is not set (required by the {getattr(cls, 'service', 'this')} service)")
            else:
                continue
            values[field.name] = _coerce(name, raw, hints[field.name])
        return cls(**values)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerHealthSettings(FromEnvironment):
    """What a worker's health check reads (`python -m servicekit.heartbeat <service>`): these alone, so that the
    check, run every few seconds, needs none of the service's other settings or code."""

    # The worker keeps it, the check reads it; empty: /tmp/beyou-<service>-worker.heartbeat.
    worker_heartbeat_file: str = ""
    worker_heartbeat_max_age_seconds: float = 30.0  # a loop silent for longer is reported unhealthy


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(WorkerHealthSettings):
    """Settings every service has."""

    service: ClassVar[str]  # set by each service's subclass

    database_url: str
    amqp_url: str
    jwks_url: str = ""
    token_issuer: str = "beyou-auth"
    token_audience: str = "beyou"
    token_leeway_seconds: int = 10
    token_max_lifetime_seconds: int = 900  # a token whose exp - iat is longer is refused (auth issues 900 s)
    jwks_refetch_seconds: float = 30.0  # at most one refetch per interval on an unknown kid
    jwks_timeout_seconds: float = 3.0
    trusted_proxy_hops: int = 1
    max_body_bytes: int = 1_048_576  # larger request bodies get 413 (the gateway has its own limits too)
    log_level: str = "INFO"
    bus_namespace: str = "beyou"
    relay_batch_size: int = 500
    relay_poll_seconds: float = 1.0
    relay_unroutable_grace_seconds: float = 900.0  # an event no queue is bound for is retried this long, then dropped
    consumer_prefetch: int = 100
    retry_delays_ms: tuple[int, ...] = (1_000, 10_000, 60_000)
    max_attempts: int = 5
    alembic_config: str = ""  # the service's alembic.ini; empty: the one beside its package
    testing: bool = False


def _coerce(name: str, raw: Any, hint: Any) -> Any:
    if not isinstance(raw, str):
        return tuple(raw) if typing.get_origin(hint) is tuple else raw
    try:
        if hint is bool:
            if raw.lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes", "on"}
        if hint in (int, float):
            return hint(raw)
        if typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            return tuple(item(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid {getattr(hint, '__name__', hint)}") from exc
    return raw
