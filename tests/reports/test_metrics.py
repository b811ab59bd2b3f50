from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from reports.metrics import parse_week, percentile, week_of, weekly_metrics
from takedown.db import session_scope
from tests.reports.seed import EXPECTED, WEEK, seed


def test_week_boundaries_are_monday_midnight_in_china():
    start, end = parse_week("2026-W47")
    assert start == datetime(2026, 11, 15, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 22, 16, tzinfo=UTC)
    assert week_of(datetime(2026, 11, 15, 15, 59, tzinfo=UTC)) == "2026-W46"
    assert week_of(datetime(2026, 11, 15, 16, 0, tzinfo=UTC)) == "2026-W47"
    with pytest.raises(ValueError, match="2026-47"):
        parse_week("2026-47")


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([24.0, 60.0], 50) == 24.0


def test_weekly_metrics_equal_hand_computed_values(engine: Engine):
    with session_scope(engine) as session:
        seed(session)
    with session_scope(engine) as session:
        m = weekly_metrics(session, WEEK, trailing=4)
    for key, value in EXPECTED.items():
        assert m[key] == value, key


def test_empty_week_has_no_rates(engine: Engine):
    with session_scope(engine) as session:
        m = weekly_metrics(session, "2026-W01", trailing=2)
    assert m["filed"] == 0 and m["removal_rate"] is None and m["revival_rate"] is None
    assert [row["week"] for row in m["trailing"]] == ["2025-W52", "2026-W01"]
