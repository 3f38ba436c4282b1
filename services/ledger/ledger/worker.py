"""The ledger worker: outbox relay + event consumers. Run with `python -m ledger.worker`."""
from servicekit.worker import run_worker

from ledger import create_app
from ledger.events import handlers


def main() -> None:
    run_worker(create_app(), handlers)


if __name__ == "__main__":
    main()
