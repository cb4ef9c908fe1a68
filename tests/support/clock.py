"""The tests' fixed time: the day the worlds are made on, and the day of their sessions."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
