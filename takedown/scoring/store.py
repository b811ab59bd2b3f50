"""Where trained models live: <var_dir>/models/<version>/model.json, and a `current` file naming the version
the scorer uses. Writes are atomic (a temporary directory renamed into place, the pointer replaced) and
serialised by a file lock, so two processes starting at once build the default model only once.

The default model is built from the shared corpus on first use when no artifact fits the scorer's code: a
fresh clone scores with the learned model without a training step by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from takedown.scoring.model import MODEL_FILE, Artifact, ModelError

log = logging.getLogger(__name__)

CURRENT = "current"


class ModelStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> ModelStore:
        from takedown.settings import get_settings

        return cls(Path(get_settings().var_dir) / "models")

    # --------------------------------------------------------------------------------------- reading
    def path(self, version: str) -> Path:
        return self.root / version / MODEL_FILE

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{MODEL_FILE}"))

    def current_version(self) -> str | None:
        try:
            version = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return version or None

    def load(self, version: str) -> Artifact:
        return Artifact.load(self.path(version))

    def load_current(self, code: str) -> Artifact | None:
        """The current artifact if it was trained with this code, else None (it would read records
        differently from how they were read when it was trained)."""
        version = self.current_version()
        if not version:
            return None
        try:
            artifact = self.load(version)
        except ModelError as exc:
            log.warning("model store: %s", exc)
            return None
        if artifact.code_hash != code:
            log.warning("model store: the current model %s was trained with other scoring code or rules; "
                        "using the default model (run `takedown train` to retrain with the reviews)", version)
            return None
        return artifact

    # --------------------------------------------------------------------------------------- writing
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def save(self, artifact: Artifact, make_current: bool = True) -> Path:
        """Write the artifact (atomically; an existing version is left as it is) and point `current` at it."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / artifact.version
        if not (final / MODEL_FILE).exists():
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
            tmp.chmod(0o755)  # readable by the other processes of the team (web app, crawlers) like var/ itself
            try:
                (tmp / MODEL_FILE).write_text(json.dumps(artifact.to_dict(), ensure_ascii=False), encoding="utf-8")
                (tmp / "metrics.json").write_text(
                    json.dumps(artifact.meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                try:
                    os.rename(tmp, final)
                except OSError:  # another process won the race with the same version: keep theirs
                    if not (final / MODEL_FILE).exists():
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        if make_current:
            self.set_current(artifact.version)
        return final / MODEL_FILE

    def set_current(self, version: str) -> None:
        if not self.path(version).exists():
            raise ModelError(f"{self.root}: no model {version}")
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.root / CURRENT)

    # ----------------------------------------------------------------------------------- the default
    def default_artifact(self, corpus: str | Path | None = None) -> Artifact | None:
        """The model trained on the shared corpus and our adversarial sets (no reviewer decisions), calibrated
        on the calibration set, built (once, under the lock) when missing. None when there is no corpus to
        train on."""
        from takedown.scoring.training import (
            DEFAULT_CONFIG,
            calibration_set,
            code_hash,
            data_version,
            train,
            training_set,
            version_of,
        )

        records, weights, sources = training_set(corpus)
        if not records:
            log.warning("model store: no labelled corpus found; scoring with the rules alone")
            return None
        calibration, cal_source = calibration_set()
        if cal_source:
            sources = {**sources, "calibration": cal_source}
        version = version_of(code_hash(), data_version(records, weights, calibration), DEFAULT_CONFIG)
        if self.path(version).exists():
            return self.load(version)
        with self.lock():
            if self.path(version).exists():  # built by another process while we waited
                return self.load(version)
            log.info("model store: building the default model from %s into %s", sources, self.root)
            artifact = train(records, weights, sources=sources, calibration=calibration)
            current = self.current_version()
            self.save(artifact, make_current=current is None or not self.path(current).exists())
            return artifact

    def for_scoring(self, corpus: str | Path | None = None) -> Artifact | None:
        """What the scorer uses: the current model when it fits this code, else the default model (which then
        becomes the current one: a model trained with other code or rules reads records differently)."""
        from takedown.scoring.training import code_hash

        current = self.load_current(code_hash())
        if current is not None:
            return current
        artifact = self.default_artifact(corpus)
        if artifact is not None and self.current_version() != artifact.version:
            with self.lock():
                self.set_current(artifact.version)
        return artifact
