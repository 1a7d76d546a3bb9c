"""Checks on how letters will read: names that repeat their period, senders that would sign as
the issuing authority, an authority that does not match the issuer's name, unknown references.

Called by engine.definitions.checks; `refs` is its reference checker (duck-typed to avoid a
cycle between the two modules).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from engine.definitions.findings import Finding
from engine.definitions.letter_models import Party, Sender
from engine.definitions.models import Cadence, Definitions, Obligation
from engine.letters import cadence_words, letter_name, naming, repeated_words
from engine.periods import event_period, period_containing

_SAMPLE_DAY = dt.date(2026, 11, 20)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def sample_period_label(obligation: Obligation) -> str:
    """A period label of the obligation's cadence, to try its name with."""
    if obligation.schedule.every in (Cadence.event, Cadence.once, Cadence.cron):
        return event_period("mau", _SAMPLE_DAY).label
    period = period_containing(obligation.schedule, obligation.window, _SAMPLE_DAY)
    return period.label if period is not None else "năm 2026"


def check_letters(defs: Definitions, refs: Any, complete: bool) -> list[Finding]:
    """Every finding about letters' wording and signers."""
    findings: list[Finding] = []
    plan = defs.plan
    if plan is not None:
        findings += _check_authority(defs)
        if plan.sender is not None:
            findings += _party_refs(plan.sender, refs, ("plan", plan.id), ("sender",))
    for obligation in defs.obligations.values():
        item = ("obligations", obligation.id)
        findings += _check_wording(obligation)
        if obligation.sender is not None:
            findings += _party_refs(obligation.sender, refs, item, ("sender",))
    if plan is not None and complete:
        findings += _check_signers(defs)
    return findings


def _party_refs(sender: Sender, refs: Any, item: tuple[str, str], keys: tuple) -> list[Finding]:
    found = refs.target(sender, item, keys)
    if sender.on_behalf_of is not None:
        found += refs.target(sender.on_behalf_of, item, (*keys, "on_behalf_of"))
    return found


def _check_wording(obligation: Obligation) -> list[Finding]:
    item = ("obligations", obligation.id)
    declared = obligation.letter.name is not None
    keys = ("letter", "name") if declared else ("title",)
    label = sample_period_label(obligation)
    words = naming(obligation, label)
    findings = []
    for text, where in ((words.task, keys), (words.result, ("letter", "result"))):
        if where[-1] == "result" and obligation.letter.result is None:
            continue
        for twice in dict.fromkeys(repeated_words(text)):
            findings.append(
                Finding(
                    *item,
                    where,
                    f"thư sẽ viết '{text}': từ '{twice}' lặp lại liền nhau; khai báo "
                    "'letter.name' (tên không kèm kỳ, hoặc có '{period}' ở chỗ ghi kỳ)",
                )
            )
    bare = cadence_words(letter_name(obligation))
    if bare and not any(f.keys == keys for f in findings):
        findings.append(
            Finding(
                *item,
                keys,
                f"tên dùng trong thư có '{bare[0]}' trong khi kỳ đã ghi '{label}' (thư sẽ viết "
                f"'{words.named}'); khai báo 'letter.name' không kèm kỳ, hoặc ghi '{{period}}' "
                "ở chỗ ghi kỳ",
            )
        )
    return findings


def _check_authority(defs: Definitions) -> list[Finding]:
    plan = defs.plan
    issuer = defs.bodies.get(plan.issuer)
    if plan.authority is None or issuer is None:
        return []
    expected = f"{plan.authority.level.value} {plan.authority.name}"
    if _fold(issuer.name).endswith(_fold(expected)):
        return []
    message = (
        f"cấp và tên chính quyền '{expected}' không khớp tên cơ quan ban hành '{issuer.name}'"
        f" (cơ quan '{issuer.id}')"
    )
    return [Finding("plan", plan.id, ("authority",), message)]


def _is_issuer(defs: Definitions, party: Party) -> bool:
    issuer = defs.plan.issuer
    if party.body is not None:
        return party.body == issuer
    role = defs.roles.get(party.role or "")
    return role is not None and any(h.body == issuer for h in role.holders)


def _check_signers(defs: Definitions) -> list[Finding]:
    """A machine never signs as the issuing authority: someone sends on its behalf."""
    findings = []
    name = defs.bodies[defs.plan.issuer].name if defs.plan.issuer in defs.bodies else "cơ quan"
    if defs.plan.sender is not None and _is_issuer(defs, defs.plan.sender):
        message = f"thư tự động không ký với danh nghĩa {name}: 'sender' phải là cơ quan khác"
        findings.append(Finding("plan", defs.plan.id, ("sender",), message))
    for obligation in defs.obligations.values():
        item = ("obligations", obligation.id)
        if obligation.sender is not None:
            if _is_issuer(defs, obligation.sender):
                message = (
                    f"thư tự động không ký với danh nghĩa {name}: khai báo cơ quan gửi thay"
                    " mặt (ví dụ cơ quan chủ trì hoặc Văn phòng, kèm 'on_behalf_of')"
                )
                findings.append(Finding(*item, ("sender",), message))
            continue
        recipient = Party(role=obligation.recipient.role, body=obligation.recipient.body)
        if defs.plan.sender is None and _is_issuer(defs, recipient):
            message = (
                f"nơi nhận là {name}, nên thư tự động của nghĩa vụ này sẽ ký với danh nghĩa {name}:"
                " khai báo 'sender' (cơ quan gửi thay mặt, kèm 'on_behalf_of') ở nghĩa vụ, hoặc"
                " 'sender' chung trong plan.yaml"
            )
            findings.append(Finding(*item, ("recipient",), message))
    return findings
