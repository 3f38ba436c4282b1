"""The messaging worker: outbox relay + event consumers. Run with `python -m messaging.worker`."""
from servicekit.worker import run_worker

from messaging import create_app
from messaging.events import handlers


def main() -> None:
    run_worker(create_app(), handlers)


if __name__ == "__main__":
    main()
