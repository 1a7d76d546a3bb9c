"""Failures reach a person, once: a failed run, a run suspended past its deadline, an address
that bounces and a letter the outbox gave up on each give ONE letter to the operators, however
often the trigger fires. No KEHOACH_OPERATOR_EMAILS here: with the SMTP server on this machine
the letters go to the default operator mailbox, which the mail sink keeps."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications.operators import DEFAULT_OPERATOR_MAILBOX, bounce_alert
from tests.flows.conftest import mails, text_of

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
BRIEFING = "press-briefing"


def operator_letters(sink) -> list:
    return [m for m in mails(sink.mail_dir) if DEFAULT_OPERATOR_MAILBOX in str(m["To"])]


def test_a_failed_run_fails_in_vietnamese_and_is_told_once(flows_env) -> None:
    from flows.collect import collect
    from flows.notify import notify_operators

    state = collect(obligation="khong-ton-tai", as_of=dt.date(2026, 3, 6), return_state=True)
    assert state.is_failed()
    assert state.message.startswith("Không có nghĩa vụ 'khong-ton-tai'"), state.message
    assert "\n" not in state.message and "Traceback" not in state.message
    run = f"prefect.flow-run.{state.state_details.flow_run_id}"
    for _ in range(3):  # the automation fires again, the notify run retries…
        notify_operators(flow_run=run, event="prefect.flow-run.Failed")
    (letter,) = operator_letters(flows_env)
    assert str(letter["Subject"]).startswith("[Cần xử lý] Lượt chạy khong-ton-tai")
    assert "Không có nghĩa vụ 'khong-ton-tai'" in text_of(letter)


def test_an_impossible_date_fails_the_run_with_one_vietnamese_line(flows_env) -> None:
    """2026-02-30 matches the deployment's date pattern, so the server lets it through: the run
    itself refuses it, in Vietnamese (Prefect's own validation answered in English)."""
    from flows.collect import collect

    state = collect(obligation="quarterly-report", as_of="2026-02-30", return_state=True)
    assert state.is_failed()
    assert state.message.startswith("Ngày chạy '2026-02-30' không có thật"), state.message
    assert "\n" not in state.message and "Traceback" not in state.message


def test_a_sweep_over_letters_given_up_tells_each_once(flows_env) -> None:
    from engine.ledger import outbox as ledger_outbox
    from tasks import runtime
    from tasks.collect import drain_outbox

    runtime.reset()
    now = dt.datetime.now(dt.UTC)
    with runtime.sessions()() as session:
        ledger_outbox.enqueue(
            session,
            [
                {
                    "key": "-:so-tu-phap:-:request",
                    "body_id": "so-tu-phap",
                    "kind": "request",
                    "to_addrs": ["van-thu@stp.tuyenquang.example"],
                    "subject": "[Yêu cầu] Báo cáo quý I năm 2026",
                    "text_body": "Kính gửi Sở Tư pháp",
                }
            ],
            domain="tuyenquang.example",
            now=now,
        )
        # As the delivery code leaves a letter it gives up on: state 'failed', its last error.
        (item,) = ledger_outbox.claim(session, "test", 1, now, dt.timedelta(minutes=10))
        ledger_outbox.mark_failed(session, item.id, "550 5.1.1 mailbox unavailable", retry=False)
    for _ in range(3):  # a sweep over what failed, run again and again
        runtime.alert_failed_letters()
        drain_outbox()
    (letter,) = operator_letters(flows_env)
    assert "Thư không gửi được sau 1 lần thử" in str(letter["Subject"])
    body = text_of(letter)
    assert "van-thu@stp.tuyenquang.example" in body and "550 5.1.1" in body
    assert len(mails(flows_env.mail_dir)) == 1  # and the failed letter itself stays unsent


def test_an_address_that_bounces_is_told_once(flows_env) -> None:
    from tasks import runtime
    from tasks.collect import drain_outbox

    runtime.reset()
    # What the reply intake calls for each delivery status notification it reads: the relay
    # retried, so two DSNs arrive for the same letter and address.
    bounce = bounce_alert(
        "van-thu@stp.tuyenquang.example",
        "12:so-tu-phap:-:request",
        "550 5.1.1 <van-thu@stp.tuyenquang.example>: Recipient address rejected",
        "[Yêu cầu] Báo cáo quý I năm 2026",
    )
    assert runtime.alert(bounce) is True
    assert runtime.alert(bounce) is False
    drain_outbox()
    (letter,) = operator_letters(flows_env)
    assert str(letter["Subject"]) == (
        "[Cần xử lý] Địa chỉ thư bị trả lại: van-thu@stp.tuyenquang.example"
    )
    assert "Recipient address rejected" in text_of(letter)


def test_a_run_suspended_past_its_deadline_is_told_once(flows_env) -> None:
    from prefect import get_client
    from prefect.states import Suspended

    from flows.press_briefing import press_briefing
    from reports import briefing_steps
    from tasks.briefing import office, setup

    press_briefing(obligation=BRIEFING, as_of=dt.date(2026, 3, 19))  # briefing 2026-03 open
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(
            press_briefing, parameters={"obligation": BRIEFING, "as_of": "2026-03-24"}
        )
        client.set_flow_run_state(
            run.id, Suspended(pause_key="bien-ban-2026-03", message="Chờ biên bản"), force=True
        )
    work = office(dt.date(2026, 3, 24))
    briefing = next(
        b
        for b in briefing_steps.briefings(work, setup(BRIEFING))
        if b.cycle.period_key == "2026-03"
    )
    briefing_steps.note_awaiting(work, briefing, str(run.id))
    deadline = briefing.cycle.closes_on
    press_briefing(obligation=BRIEFING, as_of=deadline)  # on the deadline: nothing yet
    assert operator_letters(flows_env) == []
    for day in (deadline + dt.timedelta(days=1), deadline + dt.timedelta(days=2)):
        press_briefing(obligation=BRIEFING, as_of=day)
    (letter,) = operator_letters(flows_env)
    assert "vẫn chờ biên bản Hội nghị giao ban báo chí tháng 3 năm 2026" in str(letter["Subject"])
    assert str(run.id) in text_of(letter)
