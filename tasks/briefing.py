"""Prefect tasks of the monthly press briefing: thin wrappers over reports.briefing_steps and the
collect steps, plus the minutes form the Prefect UI shows while the run is suspended."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from prefect import get_client, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput
from pydantic import BaseModel, Field, create_model

from engine.letters import letter_name, with_period
from engine.plan import obligation_active
from engine.vndates import short_date
from reports import briefing_steps as steps
from reports.briefing import BriefingSetup, briefing_setup, invitees
from reports.minutes import Minutes, minutes_from_input, quarterly_minimum
from tasks import runtime
from tasks import steps as collect_steps
from tasks.consolidation import office
from tasks.oplog import run_log
from tasks.status import artifact_key, status_artifacts


def setup(obligation: str) -> BriefingSetup:
    return briefing_setup(runtime.definitions(), obligation)


@task(name="chase-briefing", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def chase(obligation: str, as_of: dt.date) -> dict[str, int]:
    """The collect steps for the briefing, its items and its follow-ups: open, ask, remind."""
    env = runtime.tick_env(as_of)
    outcome = collect_steps.TickOutcome()
    for item in setup(obligation).obligations:
        if obligation_active(item, as_of):
            collect_steps.open_due_cycles(env, item, outcome)
            collect_steps.enqueue_and_close(env, item, outcome)
    run_log().info(
        "Họp báo và các việc kèm theo: mở %d kỳ (%s), xếp %d thư vào hộp thư đi, đóng %d kỳ.",
        len(outcome.opened),
        ", ".join(outcome.opened) or "không",
        outcome.enqueued,
        len(outcome.closed),
    )
    return {
        "opened": len(outcome.opened),
        "queued": outcome.enqueued,
        "closed": len(outcome.closed),
    }


@task(name="send-packs", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def send_packs(obligation: str, as_of: dt.date) -> list[str]:
    return steps.send_packs(office(as_of), setup(obligation))


@task(name="minutes-due", cache_policy=NO_CACHE)
def minutes_due(obligation: str, as_of: dt.date, flow_run_id: str) -> steps.Briefing | None:
    """The briefing whose minutes this run should wait for, if no other run already waits."""
    work = office(as_of)
    briefing = steps.minutes_due(work, setup(obligation))
    if briefing is None:
        return None
    waiting = steps.awaiting_run(work, briefing)
    if waiting and waiting != flow_run_id and _still_paused(waiting):
        run_log().info(
            "Biên bản hội nghị kỳ %s đã có lượt chạy %s chờ nhập; lượt này không chờ thêm.",
            briefing.cycle.period_key,
            waiting,
        )
        return None
    steps.note_awaiting(work, briefing, flow_run_id)
    return briefing


def _still_paused(flow_run_id: str) -> bool:
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
        except Exception:  # noqa: BLE001 - a run the server no longer knows waits for nothing
            return False
    return bool(run.state and run.state.is_paused())


@task(name="record-minutes", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def record_minutes(
    obligation: str, as_of: dt.date, briefing: steps.Briefing, minutes: Minutes
) -> int:
    items = steps.record_minutes(office(as_of), setup(obligation), briefing, minutes)
    run_log().info(
        "Đã ghi biên bản hội nghị kỳ %s; %d cơ quan phải trả lời câu hỏi của báo chí.",
        briefing.cycle.period_key,
        len(items),
    )
    return len(items)


def _names(as_of: dt.date) -> dict[str, str]:
    defs = runtime.definitions()
    bodies = [b for b in defs.bodies.values() if b.exists_on(as_of)]
    return {b.name: b.id for b in sorted(bodies, key=lambda b: b.name)}


def minutes_form(obligation: str, briefing: steps.Briefing, as_of: dt.date) -> type[RunInput]:
    """The minutes form: attendees, the questions raised, who answers each and by when."""
    names = _names(as_of)
    body = Literal[tuple(names)]  # type: ignore[valid-type]
    briefing_form = {f.id: f for f in setup(obligation).briefing.form.fields}
    form_field = briefing_form.get(setup(obligation).spec.minutes.get("form_of", ""))
    choices = form_field.choices if form_field is not None else []
    form_of = Literal[tuple(choices)] if choices else str  # type: ignore[valid-type]
    question = create_model(
        "CauHoiBaoChi",
        __base__=BaseModel,
        noi_dung=(str, Field(title="Câu hỏi, đề nghị của cơ quan báo chí")),
        co_quan_neu=(str, Field("", title="Cơ quan báo chí nêu")),
        co_quan_tra_loi=(body, Field(title="Cơ quan phải trả lời")),
        han_tra_loi=(
            dt.date | None,
            Field(None, title="Hạn trả lời", description="Để trống: theo quy định của nghĩa vụ."),
        ),
        da_tra_loi_tai_hoi_nghi=(bool, Field(False, title="Đã trả lời tại hội nghị")),
    )
    defs = runtime.definitions()
    guests = [b.name for b in invitees(defs, setup(obligation), as_of) if b.name in names]
    form = create_model(
        "BienBanHoiNghiGiaoBanBaoChi",
        __base__=RunInput,
        ngay_to_chuc=(dt.date, Field(briefing.briefing_on, title="Ngày tổ chức hội nghị")),
        hinh_thuc=(form_of, Field(choices[0] if choices else "", title="Hình thức tổ chức")),
        chu_tri=(str, Field(title="Lãnh đạo chủ trì hội nghị (chức danh)")),
        thanh_phan=(list[body], Field(guests, title="Cơ quan, đơn vị dự hội nghị")),
        thanh_phan_khac=(str, Field("", title="Thành phần khác")),
        cau_hoi=(list[question], Field(default_factory=list, title="Câu hỏi, đề nghị")),
        ket_luan=(str, Field(title="Kết luận của chủ trì hội nghị")),
        nguoi_nhap=(str, Field(title="Người nhập biên bản (họ tên, chức vụ)")),
    )
    form._description = (
        f"Biên bản **{briefing.title}** "
        f"(ngày {short_date(briefing.briefing_on)}). Mỗi câu hỏi chưa được trả lời tại hội nghị "
        "được giao cho cơ quan phải trả lời, gửi thư giao việc và đôn đốc như các nghĩa vụ khác."
    )
    return form


def minutes_of(decision: RunInput, briefing: steps.Briefing, as_of: dt.date) -> Minutes:
    work = office(as_of)
    data = decision.model_dump()
    held = data["ngay_to_chuc"]
    default_due = steps.default_answer_due(work, setup_for(work, briefing), held)
    spec = setup_for(work, briefing).spec
    recorder = spec.recorder or steps.host(work, setup_for(work, briefing)).name
    return minutes_from_input(work.defs, data, _names(as_of), default_due, recorder)


def setup_for(work, briefing: steps.Briefing) -> BriefingSetup:
    return briefing_setup(work.defs, briefing.cycle.obligation_id)


@task(name="publish-briefing-status", cache_policy=NO_CACHE)
def publish(obligation: str, as_of: dt.date) -> list[str]:
    """Status tables of the three obligations and the Decree 09/2017 quarterly check."""
    env = runtime.tick_env(as_of)
    keys = []
    for item in setup(obligation).obligations:
        for key, title, markdown in status_artifacts(env, item):
            create_markdown_artifact(markdown=markdown, key=key, description=title)
            keys.append(key)
    work = office(as_of)
    held = steps.held_briefings(work, setup(obligation))
    checks = quarterly_minimum(held, as_of.year, as_of)
    lines = [
        f"# {with_period(letter_name(setup(obligation).briefing), '')} — tình hình ngày "
        f"{short_date(as_of)}",
        "",
        "Nghị định 09/2017/NĐ-CP: UBND cấp tỉnh họp báo ít nhất ba tháng một lần. Mỗi hội nghị "
        "giao ban đã ghi biên bản được tính là một lần cung cấp thông tin trực tiếp cho báo chí.",
        "",
        "| Quý | Số hội nghị đã tổ chức | Mức tối thiểu |",
        "|---|---:|---|",
    ]
    lines += [f"| Quý {c.quarter}/{c.year} | {c.held} | {c.status} |" for c in checks]
    upcoming = [b for b in steps.briefings(work, setup(obligation)) if b.cycle.is_open]
    if upcoming:
        lines += ["", "| Kỳ | Gửi tài liệu | Hội nghị |", "|---|---|---|"]
        lines += [
            f"| {b.period_label} | {short_date(b.pack_on)} | {short_date(b.briefing_on)} |"
            for b in upcoming
        ]
    key = artifact_key(obligation, f"toi-thieu-{as_of.year}")
    create_markdown_artifact(
        markdown="\n".join(lines), key=key, description="Mức tối thiểu NĐ 09/2017"
    )
    return [*keys, key]


@task(name="check-minutes-wait", cache_policy=NO_CACHE)
def report_overdue_wait(obligation: str, as_of: dt.date) -> list[str]:
    """A run still suspended for a briefing's minutes after the briefing's cycle should have
    closed: tell the operators, once per waiting run. Returns the runs reported now."""
    from notifications.operators import Alert

    work = office(as_of)
    reported = []
    for briefing in steps.briefings(work, setup(obligation)):
        waiting = steps.awaiting_run(work, briefing)
        if not waiting or as_of <= briefing.cycle.closes_on or not _still_paused(waiting):
            continue
        organiser = steps.host(work, setup(obligation))
        alert = Alert(
            kind="run-waiting",
            key=waiting,
            subject=f"Lượt chạy vẫn chờ biên bản {briefing.title}",
            text=(
                f"Lượt chạy {waiting} đang tạm dừng chờ nhập biên bản {briefing.title} (họp "
                f"ngày {short_date(briefing.briefing_on)}); hạn của kỳ này là ngày "
                f"{short_date(briefing.cycle.closes_on)} đã qua.\n\n"
                f"Việc cần làm: {organiser.name} nhập biên bản trên giao diện Prefect (mở lượt "
                "chạy, bấm Tiếp tục và điền biểu mẫu biên bản); nếu hội nghị không tổ chức, hủy "
                "lượt chạy đó."
            ),
        )
        if runtime.alert(alert):
            reported.append(waiting)
            run_log().warning(
                "Lượt chạy %s chờ biên bản kỳ %s đã quá hạn: đã báo cán bộ vận hành.",
                waiting,
                briefing.period_label,
            )
    return reported


def waiting_message(obligation: str, briefing: steps.Briefing, as_of: dt.date) -> str:
    """The suspended run's state message: what it waits for and who must act."""
    organiser = steps.host(office(as_of), setup(obligation))
    return (
        f"Chờ nhập biên bản {briefing.title} (họp ngày {short_date(briefing.briefing_on)}): "
        f"{organiser.name} bấm Tiếp tục (Resume) và điền "
        f"biểu mẫu biên bản; hạn ngày {short_date(briefing.cycle.closes_on)}."
    )
