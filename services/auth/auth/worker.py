"""The auth worker: outbox relay + event consumers. Run with `python -m auth.worker`."""
from servicekit.worker import run_worker

from auth import create_app
from auth.events import handlers


def main() -> None:
    run_worker(create_app(), handlers)


if __name__ == "__main__":
    main()
