"""Development on a laptop: the embedded default, DEBUG allowed by environment."""

from .base import *  # noqa: F403
