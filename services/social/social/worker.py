"""The social worker: outbox relay + event consumers.

`python -m social.worker` runs it; `python -m social.worker --check` reports its health.
"""
from servicekit.worker import main

from social import create_app
from social.events import handlers

if __name__ == "__main__":
    main(create_app, handlers)
