from servicekit.migrations import run_env

from auth.models import Base

run_env(Base.metadata)
