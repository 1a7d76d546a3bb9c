"""The on-time rate chart (matplotlib, Agg, no pyplot state): one bar per body."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reports.compliance import BodyRate

# matplotlib's bundled DejaVu Sans has every Vietnamese glyph and is the same on every machine.
FONT = "DejaVu Sans"


def on_time_chart(
    rates: Sequence[BodyRate], labels: dict[str, str], title: str, path: Path
) -> Path:
    """A horizontal bar chart of on-time rates (%), best at the top; written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ordered = list(reversed(rates))  # barh draws bottom-up: best body at the top
    height = max(2.2, 0.95 + 0.28 * len(ordered))
    figure = Figure(figsize=(7.2, height), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = [labels.get(r.body_id, r.body_name) for r in ordered]
    values = [round(r.rate * 100, 1) for r in ordered]
    colours = ["#1b7837" if v >= 90 else "#e08214" if v >= 60 else "#b2182b" for v in values]
    bars = axes.barh(range(len(ordered)), values, color=colours, height=0.65)
    axes.set_yticks(range(len(ordered)), names, fontsize=8, fontfamily=FONT)
    axes.set_xlim(0, 112)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
    axes.set_title(title, fontsize=10, fontfamily=FONT)
    for bar, rate in zip(bars, ordered, strict=True):
        axes.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{rate.rate * 100:.0f}% ({rate.on_time}/{rate.judged})",
            va="center",
            fontsize=7,
            fontfamily=FONT,
        )
    if not ordered:
        axes.text(56, 0.5, "Chưa có kỳ nào đến hạn", ha="center", fontfamily=FONT)
        axes.set_yticks([])
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # No timestamp or version in the file: the same figures give the same bytes (sha256).
    figure.savefig(path, format="png", metadata={"Software": None})
    return path
