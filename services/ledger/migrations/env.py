from servicekit.migrations import run_env

from ledger.config import Config
from ledger.models import Base

run_env(Base.metadata, Config)
