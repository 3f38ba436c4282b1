"""The ledger worker: outbox relay + event consumers, the sequencer and the scheduled audit, and the
ledger's metrics (ledger.metrics) beside servicekit's.

`python -m ledger.worker` runs it; `python -m ledger.worker --check` reports its health.
Any number of workers may run: the sequencer's advisory lock lets one of them write at a time.
"""
from servicekit.context import context_of
from servicekit.worker import main

from ledger import create_app, metrics
from ledger.events import handlers
from ledger.tasks import tasks

if __name__ == "__main__":
    app = create_app()
    main(lambda: app, handlers, tasks=tasks(context_of(app).settings), collectors=metrics.collectors)
