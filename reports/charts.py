"""The report's charts as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

CJK_FONT = "Noto Sans CJK SC"
_font_checked = False


def _setup_font() -> None:
    """Use the CJK font when installed (fonts-noto-cjk), else matplotlib's default, silently."""
    global _font_checked
    if _font_checked:
        return
    _font_checked = True
    names = {f.name for f in font_manager.fontManager.ttflist}
    if CJK_FONT in names:
        matplotlib.rcParams["font.family"] = ["sans-serif"]
        matplotlib.rcParams["font.sans-serif"] = [CJK_FONT, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def trend_chart(metrics: dict[str, Any]) -> bytes:
    """Confirmed, filed and removed per week over the trailing weeks."""
    _setup_font()
    weeks = [row["week"] for row in metrics["trailing"]]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.27
    for i, (key, label) in enumerate((("confirmed", "确认 confirmed"), ("filed", "投诉 filed"),
                                      ("removed", "下架 removed"))):
        xs = [x + (i - 1) * width for x in range(len(weeks))]
        ax.bar(xs, [row[key] for row in metrics["trailing"]], width=width, label=label)
    ax.set_xticks(range(len(weeks)), weeks)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("每周趋势 Weekly trend")
    ax.legend(fontsize=8)
    return _png(fig)


def removal_time_chart(metrics: dict[str, Any]) -> bytes:
    """Median and p90 hours to removal per platform/channel of the week."""
    _setup_font()
    rows = metrics["time_to_removal"]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    if rows:
        labels = [f"{r['platform']}/{r['channel']}" for r in rows]
        ys = range(len(rows))
        ax.barh([y - 0.2 for y in ys], [r["median_hours"] for r in rows], height=0.4, label="median")
        ax.barh([y + 0.2 for y in ys], [r["p90_hours"] for r in rows], height=0.4, label="p90")
        ax.set_yticks(list(ys), labels)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "本周无下架 no removals", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title("下架用时（小时） Hours to removal")
    return _png(fig)


def weekly_charts(metrics: dict[str, Any]) -> dict[str, bytes]:
    """Every chart of the weekly summary, by a stable name used as the Content-ID stem."""
    return {"trend": trend_chart(metrics), "removal_time": removal_time_chart(metrics)}
