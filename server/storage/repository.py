"""What every SQLite repository holds: the database and the sealer of personal data."""

from __future__ import annotations

from server.base.crypto import Sealer
from server.storage.db import Database


class Repository:
    """A repository over the one database; personal data goes through ``sealer``."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer
