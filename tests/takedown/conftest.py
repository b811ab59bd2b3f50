"""Every core test scores with a model store in this session's temporary directory, never in the repo's var/
(the default model is built there once, by the first test that needs it)."""

from __future__ import annotations

import pytest

from takedown.scoring import get_scorer
from takedown.scoring.store import ModelStore


@pytest.fixture(scope="module", autouse=True)
def _models_in_a_temporary_var_dir(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(ModelStore, "default", classmethod(lambda cls: cls(tmp_path_factory.getbasetemp() / "models")))
    get_scorer.cache_clear()
    yield
    patch.undo()
    get_scorer.cache_clear()
