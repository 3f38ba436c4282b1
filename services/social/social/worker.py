"""The social worker: outbox relay + event consumers. Run with `python -m social.worker`."""
from servicekit.worker import run_worker

from social import create_app
from social.events import handlers


def main() -> None:
    run_worker(create_app(), handlers)


if __name__ == "__main__":
    main()
