"""Every setting of the marketplace service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from servicekit.config import ConfigError, Settings

PAYMENT_PROVIDERS = ("test",)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "marketplace"

    # Item images: the upload's size limit, the pixels above which it is refused before decoding, and a
    # request's body (a maximal image plus the multipart form around it; the gateway allows 10 MB there).
    image_max_bytes: int = 5 * 1024 * 1024
    image_max_pixels: int = 40_000_000
    max_body_bytes: int = 6 * 1024 * 1024

    # Checkout holds an order's quantities this long; the worker releases what expired every so often.
    reservation_seconds: int = 900
    expiry_interval_seconds: float = 10.0

    # Who charges cards: `test` is the built-in test provider (documented test card numbers, README).
    payment_provider: str = "test"
    payment_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.payment_provider not in PAYMENT_PROVIDERS:
            raise ConfigError(f"PAYMENT_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}")
        if self.reservation_seconds < 60:
            raise ConfigError("RESERVATION_SECONDS must be at least 60")
