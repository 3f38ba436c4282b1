"""The messaging worker: outbox relay + event consumers.

`python -m messaging.worker` runs it; `python -m messaging.worker --check` reports its health.
"""
from servicekit.worker import main

from messaging import create_app
from messaging.events import handlers

if __name__ == "__main__":
    main(create_app, handlers)
