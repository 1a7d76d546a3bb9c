"""The simulation's HTML summary: one self-contained page, in Vietnamese, for the administrator
who is about to change a definition. The two charts are inline SVG drawn here: plotting them
with matplotlib cost seconds (its import and two renders) of a run whose budget is 20 s."""

from __future__ import annotations

import html
from pathlib import Path

from cli.simulator.figures import KIND_LABELS, Figures
from engine.vndates import short_date

OUTCOME_LABELS = {
    "on_time": "Đúng hạn",
    "late": "Muộn",
    "missing": "Không nộp",
    "waived": "Được miễn",
    "pending": "Chưa đến lúc đóng kỳ",
    "not_requested": "Không gửi được yêu cầu",
}
OUTCOME_COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "missing": "#c62828"}
KIND_ORDER = list(KIND_LABELS)
CSS = """
body{font-family:"Liberation Sans",Arial,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
th{background:#f2f2f2;text-align:left}td.n{text-align:right}.ok{color:#2e7d32}.bad{color:#c62828}
figure{margin:1em 0}svg{max-width:100%;height:auto}
"""


PALETTE = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#ad1457", "#2e7d32", "#5d4037", "#546e7a"]


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}" '
        'font-family="Liberation Sans, Arial, sans-serif" font-size="11">'
        f'<text x="{width // 2}" y="16" text-anchor="middle" font-size="14">'
        f"{html.escape(title)}</text>" + "".join(body) + "</svg>"
    )


def _legend(items: list[tuple[str, str]], x: int, y: int) -> list[str]:
    parts = []
    for index, (label, colour) in enumerate(items):
        top = y + 16 * index
        parts.append(f'<rect x="{x}" y="{top}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{top + 9}">{html.escape(label)}</text>')
    return parts


def _tick_step(rough: float) -> int:
    """A round axis step (1, 2 or 5 times a power of ten) at least `rough`."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if factor * power >= rough:
                return factor * power
        power *= 10


def mail_chart(figures: Figures) -> str:
    """Letters per month, stacked by kind (an SVG drawn here: no plotting library to load)."""
    months = list(figures.emails_by_month)
    kinds = [k for k in KIND_ORDER if k in figures.emails_by_kind]
    kinds += [k for k in figures.emails_by_kind if k not in kinds]
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(kinds)}
    left, top, plot_h, bar_w, gap = 50, 30, 220, 28, 12
    width = left + len(months) * (bar_w + gap) + 190
    highest = max((sum(m.values()) for m in figures.emails_by_month.values()), default=1)
    step = _tick_step(max(highest, 1) / 4)
    peak = step * -(-max(highest, 1) // step)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 190}" y2="{top + plot_h}" '
        'stroke="#555"/>'
    ]
    for value in range(0, peak + 1, step):
        y = top + plot_h - plot_h * value / peak
        body.append(f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end">{value}</text>')
    for index, month in enumerate(months):
        x = left + gap + index * (bar_w + gap)
        base = top + plot_h
        for kind in kinds:
            count = figures.emails_by_month[month].get(kind, 0)
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            label = f"{month}: {KIND_LABELS.get(kind, kind)} {count}"
            body.append(
                f'<rect x="{x}" y="{base:.1f}" width="{bar_w}" height="{h:.1f}" '
                f'fill="{colours[kind]}"><title>{html.escape(label)}</title></rect>'
            )
        body.append(
            f'<text x="{x + bar_w / 2:.0f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'font-size="9">{month[5:]}/{month[2:4]}</text>'
        )
    legend = [(KIND_LABELS.get(k, k), colours[k]) for k in kinds]
    body += _legend(legend, width - 180, top)
    return _svg(width, top + plot_h + 30, body, "Thư gửi đi theo tháng")


def answers_chart(figures: Figures) -> str:
    """Each body's requests: on time, late, missing (horizontal stacked bars)."""
    bodies = [b for b in figures.bodies if b.requested]
    left, top, row_h, plot_w = 330, 30, 16, 420
    peak = max((b.on_time + b.late + b.missing for b in bodies), default=1) or 1
    body = []
    for index, item in enumerate(bodies):
        y = top + index * row_h
        x = float(left)
        name = item.name if len(item.name) <= 52 else item.name[:51] + "…"
        body.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end" font-size="10">'
            f"{html.escape(name)}</text>"
        )
        for outcome in ("on_time", "late", "missing"):
            count = getattr(item, outcome)
            if not count:
                continue
            w = plot_w * count / peak
            label = f"{item.name}: {OUTCOME_LABELS[outcome]} {count}"
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                f'fill="{OUTCOME_COLOURS[outcome]}"><title>{html.escape(label)}</title></rect>'
            )
            x += w
    legend = [(OUTCOME_LABELS[o], OUTCOME_COLOURS[o]) for o in ("on_time", "late", "missing")]
    body += _legend(legend, left + plot_w + 20, top)
    height = top + max(len(bodies), 3) * row_h + 10
    return _svg(left + plot_w + 150, height, body, "Kết quả nộp báo cáo theo cơ quan")


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{html.escape(str(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_summary(figures: Figures, title: str) -> str:
    kinds = [[KIND_LABELS.get(k, k), n] for k, n in figures.emails_by_kind.items()]
    kinds.append(["Tổng cộng", figures.emails_total])
    outcomes = [[OUTCOME_LABELS[k], n] for k, n in figures.outcomes.items() if n]
    bodies = [
        [b.name, b.requested, b.on_time, b.late, b.missing, b.escalations]
        for b in figures.bodies
        if b.requested or b.escalations
    ]
    handoffs = [
        [
            short_date(h.day),
            f"{h.obligation_id} · {h.period_key}",
            h.version + 1,
            h.downstream,
            h.note or "đã ghi nhận bàn giao",
            ", ".join(Path(d).name for d in h.documents) or "—",
        ]
        for h in figures.handoffs
    ]
    escalations = [[e["day"], e["obligation"], e["period"], e["body"]] for e in figures.escalations]
    if figures.problems:
        check = '<p class="bad">Phát hiện điểm không nhất quán:</p><ul>' + "".join(
            f"<li>{html.escape(p)}</li>" for p in figures.problems
        )
        check += "</ul>"
    else:
        check = (
            '<p class="ok">Nhất quán: mọi yêu cầu đều được nộp đúng hạn, nộp muộn hoặc ghi nhận '
            "không nộp; chỉ đôn đốc khi thang nhắc đã tới bậc đôn đốc mà cơ quan chưa nộp; số kỳ "
            "mở và đóng khớp với kế hoạch.</p>"
        )
    period = f"{short_date(figures.year_from)} – {short_date(figures.year_to)}"
    tail = (
        f" (theo dõi các kỳ đã mở đến khi đóng: {short_date(figures.last_day)})"
        if figures.last_day > figures.year_to
        else ""
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Thời gian mô phỏng: {period}{tail}. "
        "Thư không được gửi thật: hệ thống chỉ ghi lại.</p>",
        "<h2>Thư gửi đi</h2>",
        _table(["Loại thư", "Số thư"], kinds),
        f"<figure>{mail_chart(figures)}</figure>",
        "<h2>Kết quả nộp báo cáo</h2>",
        _table(["Kết quả", "Số phần việc"], outcomes),
        f"<figure>{answers_chart(figures)}</figure>",
        _table(["Cơ quan", "Được yêu cầu", "Đúng hạn", "Muộn", "Không nộp", "Bị đôn đốc"], bodies),
        "<h2>Kỳ báo cáo</h2>",
        _table(
            ["Mở", "Đóng", "Còn mở", "Theo kế hoạch"],
            [
                [
                    figures.cycles_opened,
                    figures.cycles_closed,
                    figures.cycles_still_open,
                    figures.cycles_expected,
                ]
            ],
        ),
        "<h2>Đôn đốc</h2>",
        _table(["Ngày", "Nghĩa vụ", "Kỳ", "Cơ quan"], escalations) if escalations else "<p>—</p>",
        "<h2>Bàn giao và văn bản tổng hợp</h2>",
        _table(["Ngày", "Kỳ", "Bản", "Chuyển cho", "Ghi chú", "Văn bản"], handoffs)
        if handoffs
        else "<p>—</p>",
        "<h2>Kiểm tra nhất quán</h2>",
        check,
    ]
    body = "\n".join(parts)
    return (
        '<!doctype html>\n<html lang="vi"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_summary(figures: Figures, title: str, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    target.write_text(render_summary(figures, title), encoding="utf-8")
    return target
