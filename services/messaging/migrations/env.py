from servicekit.migrations import run_env

from messaging.config import Config
from messaging.models import Base

run_env(Base.metadata, Config)
