from servicekit.migrations import run_env

from auth.config import Config
from auth.models import Base

run_env(Base.metadata, Config)
