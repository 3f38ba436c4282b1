"""The marketplace worker: outbox relay + event consumers.

`python -m marketplace.worker` runs it; `python -m marketplace.worker --check` reports its health.
"""
from servicekit.worker import main

from marketplace import create_app
from marketplace.events import handlers

if __name__ == "__main__":
    main(create_app, handlers)
