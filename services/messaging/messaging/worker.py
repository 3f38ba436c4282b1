"""The messaging worker: outbox relay + event consumers, and the purge of old stream notices.

`python -m messaging.worker` runs it; `python -m messaging.worker --check` reports its health.
"""
from servicekit.worker import main

from messaging import create_app
from messaging.events import handlers
from messaging.stream import PURGE_TASK

if __name__ == "__main__":
    main(create_app, handlers, tasks=[PURGE_TASK])
