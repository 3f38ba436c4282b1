from servicekit.migrations import run_env

from ledger.models import Base

run_env(Base.metadata)
