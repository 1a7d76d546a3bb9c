"""`kehoach report annual YEAR --out DIR` and `kehoach report matrix --out FILE.xlsx`: the
year-end consolidation's documents rendered from the ledger as a draft, without waiting for any
approval, and the compliance matrix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from cli.common import DefinitionsOption, fail, load_or_exit

report_app = typer.Typer(
    help="Báo cáo từ sổ theo dõi: bản dự thảo báo cáo tổng hợp năm, ma trận tuân thủ.",
    no_args_is_help=True,
)

AsOfOption = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="Ngày tính (mặc định: hôm nay)."
)


def _sessions():
    from engine.ledger.db import make_engine, session_factory
    from engine.settings import get_settings

    return session_factory(make_engine(get_settings().ledger_url))


def _today(value: dt.datetime | None) -> dt.date:
    from engine.calendar import today_in_vietnam

    return value.date() if value else today_in_vietnam()


def _ledger_problem(error: Exception) -> str:
    return (
        "không đọc được sổ theo dõi (chưa tạo? hãy chạy `kehoach db upgrade`): "
        f"{str(error).splitlines()[0]}"
    )


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        fail(f"năm {year} không hợp lệ: cần một năm từ 2000 đến 2100, ví dụ 2026", 2)


def _check_period(period: str) -> None:
    head = period[:4]
    if not head.isdigit() or (len(period) > 4 and period[4] != "-"):
        fail(f"kỳ '{period}' không hợp lệ: cần năm (2026) hoặc mã kỳ (2026-H1, 2026-Q3)", 2)
    _check_year(int(head))


def _current_version(sessions, defs, obligation, key: str) -> int:
    """1, or the amended version the ledger's hand-offs have reached (late reports)."""
    from reports.consolidate import handoff_total

    with sessions() as session:
        return handoff_total(defs, session, obligation, key) + 1


@report_app.command("annual")
def annual(
    year: str = typer.Argument(..., help="Kỳ tổng hợp: năm (2026) hoặc mã kỳ (2026-H1)."),
    out: Path = typer.Option(..., "--out", help="Thư mục ghi các tệp DOCX, XLSX, PNG."),
    obligation: str | None = typer.Option(
        None, "--obligation", help="Mã nghĩa vụ tổng hợp (mặc định: nghĩa vụ tổng hợp đầu tiên)."
    ),
    definitions: Path | None = DefinitionsOption,
    as_of: dt.datetime | None = AsOfOption,
) -> None:
    """Bản dự thảo báo cáo tổng hợp của một kỳ (DOCX theo Nghị định 30/2020, XLSX, biểu đồ)."""
    _check_period(year)
    if out.exists() and not out.is_dir():
        fail(f"'{out}' đã có và không phải thư mục", 2)
    defs = load_or_exit(definitions)
    from sqlalchemy.exc import SQLAlchemyError

    from reports.annual import render_annual
    from reports.consolidate import ReportError, consolidation_key, consolidation_obligation

    sessions = _sessions()
    try:
        chosen = consolidation_obligation(defs, obligation)
        key = consolidation_key(defs, chosen, year)
        version = _current_version(sessions, defs, chosen, key)
        docs = render_annual(
            defs,
            sessions,
            key,
            out,
            obligation_id=chosen.id,
            version=version,
            today=_today(as_of),
        )
    except ReportError as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(_ledger_problem(error))
    state = "đủ" if docs.complete else "chưa đủ"
    print(
        f"Báo cáo tổng hợp kỳ {key} (bản {docs.version}, dự thảo): "
        f"{docs.bodies_reported}/{docs.bodies_expected} cơ quan đã báo cáo, điều kiện tổng hợp "
        f"{state}."
    )
    if docs.missing:
        print("Chưa báo cáo: " + "; ".join(docs.missing) + ".")
    for path in (docs.docx, docs.xlsx, docs.chart):
        print(f"  {path}")


@report_app.command("matrix")
def matrix(
    out: Path = typer.Option(..., "--out", help="Tệp XLSX cần ghi."),
    year: int | None = typer.Option(None, "--year", help="Chỉ các kỳ kết thúc trong năm này."),
    definitions: Path | None = DefinitionsOption,
    as_of: dt.datetime | None = AsOfOption,
) -> None:
    """Ma trận tuân thủ: cơ quan × nghĩa vụ × kỳ, ngày yêu cầu, hạn, ngày nộp, trạng thái."""
    if out.suffix.lower() != ".xlsx":
        fail(f"tệp '{out}' cần có phần mở rộng .xlsx", 2)
    if year is not None:
        _check_year(year)
    defs = load_or_exit(definitions)
    from sqlalchemy.exc import SQLAlchemyError

    from reports.compliance import compliance_rows, on_time_rates
    from reports.workbook import matrix_workbook

    today = _today(as_of)
    try:
        with _sessions()() as session:
            rows = compliance_rows(defs, session, year=year, today=today)
    except SQLAlchemyError as error:
        fail(_ledger_problem(error))
    title = f"Ma trận tuân thủ năm {year}" if year else "Ma trận tuân thủ"
    matrix_workbook(rows, on_time_rates(rows), out, title=title, stamp=today)
    print(f"Đã ghi {len(rows)} phần việc vào {out}.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `kehoach` app."""
    app.add_typer(report_app, name="report")
