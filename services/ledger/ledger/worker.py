"""The ledger worker: outbox relay + event consumers.

`python -m ledger.worker` runs it; `python -m ledger.worker --check` reports its health.
"""
from servicekit.worker import main

from ledger import create_app
from ledger.events import handlers

if __name__ == "__main__":
    main(create_app, handlers)
