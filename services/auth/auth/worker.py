"""The auth worker: outbox relay + event consumers.

`python -m auth.worker` runs it; `python -m auth.worker --check` reports its health.
"""
from servicekit.worker import main

from auth import create_app
from auth.config import Config
from auth.events import handlers
from auth.housekeeping import purge_task

if __name__ == "__main__":
    main(create_app, handlers, tasks=[purge_task(Config.load())])
