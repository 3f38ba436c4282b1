from servicekit.migrations import run_env

from social.config import Config
from social.models import Base

run_env(Base.metadata, Config)
