"""The marketplace worker: outbox relay, event consumers, and the release of expired reservations.

`python -m marketplace.worker` runs it; `python -m marketplace.worker --check` reports its health.
"""
from servicekit.worker import main

from marketplace import create_app
from marketplace.config import Config
from marketplace.events import handlers
from marketplace.orders import expiry_task

if __name__ == "__main__":
    main(create_app, handlers, tasks=[expiry_task(Config.load())])
