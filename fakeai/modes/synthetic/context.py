"""What synthetic generators share for the life of a worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakeai.modes.base import TaskSet
from fakeai.modes.engine import Engine, EngineConfig
from fakeai.modes.synthetic.catalogue import Catalogue
from fakeai.modes.synthetic.prompt_cache import PrefixCache

if TYPE_CHECKING:
    from fakeai.metrics import Metrics
    from fakeai.settings import Settings
    from fakeai.store import Database

__all__ = ["SyntheticContext"]


class SyntheticContext:
    """Settings, the model catalogue and the database, built once per worker."""

    def __init__(self, settings: Settings, db: Database | None, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.db = db
        self.catalogue = Catalogue(strict=settings.strict_models)
        # The engine clock every text answer asks for time (--ttft-ms, --itl-ms, --max-concurrency, ...).
        self.engine = Engine(EngineConfig.from_settings(settings), metrics)
        self.prompt_cache = PrefixCache()  # OpenAI's cached_tokens rule for text endpoints
        self.tasks = TaskSet()  # background responses, saves after a hang-up

    @property
    def database(self) -> Database:
        """The database, for endpoints that persist (files, images, stored responses). Unit tests of
        pure generators build a context without one."""
        if self.db is None:
            raise RuntimeError("this endpoint needs a database; the runtime always provides one")
        return self.db
