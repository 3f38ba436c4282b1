from servicekit.migrations import run_env

from marketplace.config import Config
from marketplace.models import Base

run_env(Base.metadata, Config)
