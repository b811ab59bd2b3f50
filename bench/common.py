"""What every benchmark shares: a results table, and bench/results/latest.json ({name: {value, unit, baseline,
ratio}}) with each figure next to the baseline measured in the same run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(slots=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    baseline_name: str
    target: str = ""  # e.g. "ratio >= 0.5" or "value >= 5000"
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


def report(figures: list[Figure], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="takedown benchmarks")
    for column in ("benchmark", "value", "baseline", "ratio", "target", "met"):
        table.add_column(column)
    for f in figures:
        table.add_row(
            f.name, f"{f.value:,.1f} {f.unit}", f"{f.baseline:,.1f} {f.unit} ({f.baseline_name})",
            f"{f.ratio:.2f}", f.target, {True: "yes", False: "NO", None: "-"}[f.met],
        )
    console.print(table)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update({
        f.name: {"value": round(f.value, 3), "unit": f.unit, "baseline": round(f.baseline, 3),
                 "baseline_name": f.baseline_name, "ratio": round(f.ratio, 3), "target": f.target, "met": f.met}
        for f in figures
    })
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written {RESULTS}")
