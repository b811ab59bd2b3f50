"""One emulator per test module (seeded by the module's EMULATOR_SEED), handed to each test with no faults."""

from __future__ import annotations

import pytest

from emulator.server import running
from tests.crawlers.crawl_helpers import clear_faults


@pytest.fixture(scope="module")
def _module_emulator(request: pytest.FixtureRequest):
    with running(seed=getattr(request.module, "EMULATOR_SEED", 11), size=3000) as url:
        yield url


@pytest.fixture
def emulator_url(_module_emulator: str):
    clear_faults(_module_emulator)
    yield _module_emulator
    clear_faults(_module_emulator)
