"""The marketplace worker: outbox relay + event consumers. Run with `python -m marketplace.worker`."""
from servicekit.worker import run_worker

from marketplace import create_app
from marketplace.events import handlers


def main() -> None:
    run_worker(create_app(), handlers)


if __name__ == "__main__":
    main()
