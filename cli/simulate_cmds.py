"""`kehoach simulate`: a plan year on a fake clock, before a definition change reaches anyone."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from functools import partial
from pathlib import Path

import typer

from cli.common import DefinitionsOption, definitions_dir, fail, load_or_exit, print_table

FORMATS = ("table", "json")


def simulate(
    year: int = typer.Option(..., "--year", help="Năm mô phỏng, ví dụ 2026."),
    seed: int = typer.Option(
        1, "--seed", help="Hạt giống bốc thăm persona (cùng số, cùng kết quả)."
    ),
    personas: Path | None = typer.Option(
        None, "--personas", help="Tệp YAML persona (mặc định: cli/simulator/personas.yaml)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Thư mục ghi trang tóm tắt HTML, JSON, mọi thư (.eml) và văn bản tổng hợp.",
    ),
    output: str = typer.Option("table", "--format", help="table hoặc json."),
    definitions: Path | None = DefinitionsOption,
) -> None:
    """Chạy thử cả năm trên đồng hồ giả: thư được ghi lại chứ không gửi, cơ quan giả lập trả lời."""
    if output not in FORMATS:
        fail(f"--format phải là một trong: {', '.join(FORMATS)} (nhận được '{output}')", 2)
    if not 2000 <= year <= 2100:
        fail(f"--year phải trong khoảng 2000–2100 (nhận được {year})", 2)
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out phải là một thư mục: {out} là một tệp", 2)
    if personas is not None and not personas.is_file():
        fail(f"không tìm thấy tệp persona: {personas}", 2)

    from cli.simulator.driver import live_wiring
    from cli.simulator.driver import simulate as run_year
    from cli.simulator.figures import figures as count
    from cli.simulator.personas import DEFAULT_PERSONAS, Cast, PersonasInvalid, load_personas
    from cli.simulator.progress import DayProgress

    defs = load_or_exit(definitions)
    try:
        cast = Cast(load_personas(personas or DEFAULT_PERSONAS, defs), seed)
    except PersonasInvalid as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        fail(f"{len(error.problems)} lỗi trong tệp persona.")
    try:
        wiring = live_wiring(definitions_dir(definitions))
    except ValueError as error:
        fail(f"cấu hình thư (KEHOACH_*) không hợp lệ: {error}")
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            fail(f"không tạo được thư mục {out}: {error.strerror or error}")
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    progress = DayProgress(start, end)
    letters = None
    if out is not None:
        from cli.simulator.letters_out import write_letters

        # Written while the document worker finishes the last consolidation documents.
        letters = partial(write_letters, defs, out_dir=out)
    with tempfile.TemporaryDirectory(prefix="kehoach-simulate-") as work:
        run = run_year(
            defs,
            wiring,
            cast,
            start,
            end,
            Path(work),
            out_dir=out,
            progress=progress,
            while_documents=letters,
        )
        progress.done()
        result = count(run)
        run.ledger.dispose()
    summary = None
    if out is not None:
        from cli.simulator.summary import write_summary

        summary = write_summary(result, f"Mô phỏng năm {year} (hạt giống {seed})", out)
        data = {**result.as_json(), "seed": seed, "summary": str(summary)}
        (out / "simulation.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    if output == "json":
        data = {**result.as_json(), "seed": seed, "summary": str(summary) if summary else None}
        print(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        print_figures(result, year, seed, summary)
    if result.problems:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        fail(f"mô phỏng phát hiện {len(result.problems)} điểm không nhất quán (xem ở trên).")


def print_figures(result, year: int, seed: int, summary: Path | None) -> None:
    from cli.simulator.figures import KIND_LABELS
    from cli.simulator.summary import OUTCOME_LABELS
    from engine.vndates import short_date

    tail = (
        f", theo dõi các kỳ đã mở đến {short_date(result.last_day)}"
        if result.last_day > result.year_to
        else ""
    )
    print(f"Mô phỏng năm {year} (hạt giống {seed}){tail}. Thư chỉ được ghi lại, không gửi.\n")
    rows = [[KIND_LABELS.get(k, k), str(n)] for k, n in result.emails_by_kind.items()]
    rows.append(["Tổng cộng", str(result.emails_total)])
    print_table(["Loại thư", "Số thư"], rows)
    print()
    rows = [
        [b.name, str(b.requested), str(b.on_time), str(b.late), str(b.missing), str(b.escalations)]
        for b in result.bodies
        if b.requested or b.escalations
    ]
    print_table(["Cơ quan", "Được yêu cầu", "Đúng hạn", "Muộn", "Không nộp", "Bị đôn đốc"], rows)
    print()
    outcomes = ", ".join(
        f"{OUTCOME_LABELS[k].lower()} {n}" for k, n in result.outcomes.items() if n
    )
    print(f"Phần việc: {outcomes}; {result.revisions} lần nộp bản sửa.")
    print(
        f"Kỳ báo cáo: mở {result.cycles_opened}, đóng {result.cycles_closed}, "
        f"còn mở {result.cycles_still_open}; kế hoạch có {result.cycles_expected}."
    )
    print(f"Đôn đốc: {len(result.escalations)} thư.")
    for handoff in result.handoffs:
        line = (
            f"Bàn giao {short_date(handoff.day)}: {handoff.obligation_id} · {handoff.period_key} "
            f"(bản {handoff.version + 1}) cho {handoff.downstream}"
        )
        print(line + (f" — {handoff.note}" if handoff.note else ""))
        for document in handoff.documents:
            print(f"  {document}")
    if summary is not None:
        print(f"\nTrang tóm tắt: {summary}")
    if not result.problems:
        print("Kiểm tra nhất quán: đạt.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `kehoach` app."""
    app.command()(simulate)
