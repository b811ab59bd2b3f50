"""Every core test scores with a model store in this session's temporary directory, never in the repo's var/
(the default model is built there once, by the first test that needs it). The filing and takedown-loop tests
share the emulator fixtures below, and the command-line tests the `cli` runner."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from emulator.server import running
from takedown.cli import app
from takedown.scoring import get_scorer
from takedown.scoring.store import ModelStore
from takedown.settings import get_settings


@pytest.fixture(scope="module", autouse=True)
def _models_in_a_temporary_var_dir(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(ModelStore, "default", classmethod(lambda cls: cls(tmp_path_factory.getbasetemp() / "models")))
    get_scorer.cache_clear()
    yield
    patch.undo()
    get_scorer.cache_clear()


@pytest.fixture(scope="module")
def emu(request):
    """One emulator per test module (seeded by the module's EMULATOR_SEED, default 7)."""
    with running(seed=getattr(request.module, "EMULATOR_SEED", 7), size=400) as base:
        yield base


@pytest.fixture
def world(emu):
    """The module's emulator, reset to its initial state for this test."""
    httpx.post(f"{emu}/_emu/reset", timeout=10).raise_for_status()
    return emu


@pytest.fixture
def cli(engine, tmp_path: Path, monkeypatch):
    """`takedown ...` run in this process against the test's database: cli("posts", "add", URL) -> Result;
    keywords go to CliRunner.invoke (input="…" for what the command reads from stdin)."""
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TAKEDOWN_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args, **kwargs: runner.invoke(app, list(args), **kwargs)
    get_settings.cache_clear()
