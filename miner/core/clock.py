"""The one clock of the warehouse: naive UTC timestamps.

Its own module so that code which needs the time but not the warehouse (the source adapters
stamping each request) does not import the warehouse.
"""

from __future__ import annotations

from datetime import datetime, timezone


def now_utc() -> datetime:
    """Naive UTC timestamp: DuckDB TIMESTAMP columns hold UTC throughout the warehouse."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
