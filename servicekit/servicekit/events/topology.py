"""Names and declarations of exchanges and queues.

    <ns>.events                     durable topic exchange, routing key = event type
    <ns>.<service>                  a consuming service's durable queue
    <ns>.<service>.retry.<ms>       waits <ms>, then dead-letters back to <ns>.<service>
    <ns>.<service>.dead             events that failed every attempt, for an operator

The namespace is `beyou` in every deployment; tests use their own.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    namespace: str = "beyou"

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    def retry_queue(self, service: str, delay_ms: int) -> str:
        return f"{self.namespace}.{service}.retry.{delay_ms}"

    def dead_queue(self, service: str) -> str:
        return f"{self.namespace}.{service}.dead"

    def declare_exchange(self, channel) -> None:
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)

    def declare_consumer(self, channel, service: str, event_types: Iterable[str],
                         retry_delays_ms: Iterable[int]) -> None:
        """Declare the service's queue, its bindings, its retry queues and its dead-letter queue."""
        self.declare_exchange(channel)
        queue = self.queue(service)
        channel.queue_declare(queue, durable=True)
        for event_type in event_types:
            channel.queue_bind(queue, self.exchange, routing_key=event_type)
        for delay in retry_delays_ms:
            channel.queue_declare(self.retry_queue(service, delay), durable=True, arguments={
                "x-message-ttl": int(delay),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
            })
        channel.queue_declare(self.dead_queue(service), durable=True)

    def queues(self, service: str, retry_delays_ms: Iterable[int]) -> list[str]:
        return [self.queue(service), self.dead_queue(service),
                *(self.retry_queue(service, d) for d in retry_delays_ms)]
