"""The agencies' pages: the form behind a personal link, its submission, the receipt.

GET never writes (mail scanners prefetch links); only POST to `/s/{token}/submit`, carrying the
CSRF token of a form page rendered for the same link, records anything. Every refusal is a
Vietnamese page with a 4xx status and leaves the ledger and the file store untouched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from engine import files as attachment_files
from engine.forms import FormErrors
from engine.ledger.errors import CycleClosed, InvalidInput, InvalidTransition, NotFound
from engine.ledger.results import SubmissionView
from engine.ledger.states import AssignmentState
from engine.tokens import TokenError, verify
from notifications.receipts import submit as record_answer
from notifications.vietnamese import capfirst, format_date
from portal import formview
from portal.lookup import AssignmentPage, load_page
from portal.security import csrf_token, csrf_valid
from portal.uploads import Limits, ParsedForm, UploadRefused, read_form

router = APIRouter()
MAX_TOKEN_CHARS = 120
MB = 1024 * 1024
# Answers with at most this much in files are recorded on the event loop (see Portal.in_ledger).
INLINE_UPLOAD_BYTES = 1 * MB


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _portal(request: Request):
    return request.app.state.portal


def csrf_scope(token: str) -> str:
    return f"agency:{token}"


def open_link(
    portal, token: str, *, allow_closed: bool = False, version: int | None = None
) -> AssignmentPage:
    """The assignment a link grants today, or Refusal: 403 forged, 410 expired or closed."""
    if len(token) > MAX_TOKEN_CHARS:
        raise Refusal(403, "Đường liên kết không hợp lệ.")
    try:
        # Checked for its signature first, then for its date, so the page can say which.
        assignment_id = verify(token, portal.secret, dt.date.min)
    except TokenError as error:
        raise Refusal(403, str(error)) from error
    expires_on = dt.datetime.strptime(token.split(".")[1], "%Y%m%d").date()
    if portal.today() > expires_on:
        raise Refusal(
            410,
            f"Đường liên kết đã hết hạn từ sau {format_date(expires_on)}: kỳ báo cáo đã đóng.",
        )
    page = load_page(portal.desk, assignment_id, version=version)
    if page is None:
        raise Refusal(404, "Không tìm thấy phần việc ứng với đường liên kết này.")
    if not page.cycle_open and not allow_closed:
        raise Refusal(
            410,
            f"Kỳ báo cáo “{capfirst(page.named)}” đã đóng; biểu mẫu không còn nhận báo cáo.",
        )
    return page


def _closed_state_message(page: AssignmentPage) -> str:
    if page.row.state == AssignmentState.accepted.value:
        return (
            "Báo cáo của Quý cơ quan đã được cơ quan tiếp nhận chấp nhận; "
            "không cần gửi lại. Nếu cần bổ sung, xin liên hệ cơ quan tiếp nhận."
        )
    if page.row.state == AssignmentState.waived.value:
        return "Quý cơ quan đã được miễn nộp báo cáo kỳ này; không cần gửi."
    return "Phần việc này hiện không nhận báo cáo mới."


def show_form(
    request: Request,
    token: str,
    page: AssignmentPage,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    who: str,
    kept: set[int] | None = None,
    status: int = 200,
) -> Response:
    portal = _portal(request)
    today = portal.today()
    view = formview.build(page.obligation.form, values, errors, page.latest, who=who, kept=kept)
    return portal.pages.render(
        "form.html",
        status=status,
        page=page,
        view=view,
        token=token,
        csrf=csrf_token(portal.secret, csrf_scope(token)),
        today=today,
        days_late=(today - page.row.due_on).days,
    )


def _portal_who(latest: SubmissionView | None) -> str:
    return latest.submitted_by if latest is not None and latest.channel == "portal" else ""


@router.get("/s/{token}")
async def form_page(request: Request, token: str) -> Response:
    portal = _portal(request)
    try:
        page = await portal.in_ledger(open_link, portal, token)
    except Refusal as refusal:
        return portal.pages.error(refusal.status, refusal.message)
    if not page.accepts_answers:
        return portal.pages.render(
            "settled.html",
            page=page,
            message=_closed_state_message(page),
            answers=formview.answers(page.obligation.form, page.latest.fields)
            if page.latest
            else [],
        )
    return show_form(
        request,
        token,
        page,
        values=formview.values_of(page.latest),
        errors={},
        who=_portal_who(page.latest),
    )


@router.get("/s/{token}/submit")
async def submit_by_get(request: Request, token: str) -> Response:
    portal = _portal(request)
    return portal.pages.error(
        405,
        "Địa chỉ này chỉ nhận báo cáo gửi từ nút “Gửi báo cáo” của biểu mẫu; "
        "mở địa chỉ này trong trình duyệt không ghi nhận gì.",
        headers={"Allow": "POST"},
        back_url=f"{portal.pages.base}/s/{token}",
    )


@dataclass
class Answer:
    values: dict[str, str]
    who: str
    kept: set[int]


def _answer_of(page: AssignmentPage, form: ParsedForm) -> Answer:
    ids = [f.id for f in page.obligation.form.fields]
    values = {i: form.first(i) or "" for i in ids if i in form.fields}
    who = " ".join((form.first(formview.WHO_FIELD) or "").split())[: formview.MAX_WHO_CHARS]
    kept = {int(k) for k in form.fields.get(formview.KEEP_FIELD, []) if k.isdigit()}
    return Answer(values, who, kept)


def unsafe_file_name(name: str) -> bool:
    """A name that tries to be a path (or hides control characters) is refused, not cleaned."""
    return (
        "/" in name
        or "\\" in name
        or any(not ch.isprintable() for ch in name)
        or name.strip() in {".", ".."}
    )


def _record(portal, page: AssignmentPage, form: ParsedForm, answer: Answer):
    """Everything after the read, in a worker thread: check the names, gather kept files, then
    record through notifications.receipts.submit (which checks every file before storing)."""
    desk = portal.desk
    problems: dict[str, str] = {}
    uploads: list[tuple[str, bytes]] = []
    previous = page.latest.attachments if page.latest else ()
    for index in sorted(answer.kept):
        if index >= len(previous):
            continue
        kept = previous[index]
        try:
            content = attachment_files.path_for(desk.files_dir, kept.sha256).read_bytes()
        except (OSError, attachment_files.FileRefused):
            problems[f"file-kept-{index}"] = (
                f"Tệp “{kept.file_name}” đã gửi trước không còn lưu trữ; xin đính kèm lại."
            )
            continue
        uploads.append((kept.file_name, content))
    for index, upload in enumerate(form.uploads):
        if unsafe_file_name(upload.name):
            problems[f"file-{len(uploads) + index}"] = (
                f"Tên tệp “{attachment_files.safe_name(upload.name)}” không hợp lệ (chứa đường "
                "dẫn thư mục hoặc ký tự điều khiển); xin đổi tên tệp rồi gửi lại."
            )
    if problems:
        raise FormErrors(problems)
    uploads.extend((upload.name, upload.read()) for upload in form.uploads)
    return record_answer(
        desk,
        page.row,
        answer.values,
        uploads,
        channel="portal",
        who=answer.who or page.body_name,
        today=portal.today(),
        now=portal.now(),
    )


@router.post("/s/{token}/submit")
async def submit(request: Request, token: str) -> Response:
    portal = _portal(request)
    try:
        page = await portal.in_ledger(open_link, portal, token)
    except Refusal as refusal:
        return portal.pages.error(refusal.status, refusal.message)
    if not page.accepts_answers:
        return portal.pages.error(409, _closed_state_message(page))
    rules = page.obligation.form.attachments
    limits = Limits(max_file_bytes=int(rules.max_mb * MB), max_files=rules.max_files)
    scope = csrf_scope(token)

    def csrf_ok(value: str) -> bool:
        return csrf_valid(portal.secret, scope, value)

    try:
        form = await read_form(request, limits, csrf_ok)
    except UploadRefused as refused:
        if refused.status == 413 and refused.form is not None and refused.form.fields:
            # The text fields came before the file: show the form again with what was typed.
            answer = _answer_of(page, refused.form)
            refused.form.close()
            return show_form(
                request,
                token,
                page,
                values=answer.values,
                errors={"": refused.message},
                who=answer.who,
                kept=answer.kept,
                status=413,
            )
        return portal.pages.error(
            refused.status, refused.message, back_url=f"{portal.pages.base}/s/{token}"
        )
    answer = _answer_of(page, form)
    try:
        async with portal.recording:
            # Hashing and storing megabytes of files, or waiting for another process's write,
            # would hold up every other request on the event loop; in a thread it does not
            # (hashlib releases the GIL while it hashes).
            big = sum(upload.size for upload in form.uploads) > INLINE_UPLOAD_BYTES
            heavy = big or not portal.writes_idle()
            recorded = await portal.in_ledger(_record, portal, page, form, answer, thread=heavy)
    except FormErrors as errors:
        return show_form(
            request,
            token,
            page,
            values=answer.values,
            errors=errors.errors,
            who=answer.who,
            kept=answer.kept,
            status=422,
        )
    except CycleClosed as error:
        return portal.pages.error(410, str(error))
    except InvalidTransition as error:
        return portal.pages.error(409, str(error))
    except InvalidInput as error:
        return portal.pages.error(422, str(error), back_url=f"{portal.pages.base}/s/{token}")
    except NotFound as error:
        return portal.pages.error(404, str(error))
    finally:
        form.close()
    if recorded.created:
        portal.courier.kick()
    suffix = "" if recorded.created else "?same=1"
    return RedirectResponse(
        f"{portal.pages.base}/s/{token}/receipt/{recorded.version}{suffix}", status_code=303
    )


@router.get("/s/{token}/receipt/{version}")
async def receipt(request: Request, token: str, version: str) -> Response:
    portal = _portal(request)
    number = int(version) if version.isdigit() and len(version) < 9 else 0
    try:
        page = await portal.in_ledger(open_link, portal, token, allow_closed=True, version=number)
    except Refusal as refusal:
        return portal.pages.error(refusal.status, refusal.message)
    shown = page.shown
    if shown is None:
        return portal.pages.error(
            404, "Không có lần gửi này.", back_url=f"{portal.pages.base}/s/{token}"
        )
    return portal.pages.render(
        "receipt.html",
        page=page,
        token=token,
        shown=shown,
        answers=formview.answers(page.obligation.form, shown.fields),
        same=request.query_params.get("same") == "1",
        is_latest=page.latest is not None and shown.version == page.latest.version,
        mailboxes=_mailboxes(portal, page),
    )


def _mailboxes(portal, page: AssignmentPage) -> list[str]:
    body = portal.desk.defs.bodies.get(page.row.body_id)
    return list(body.mailboxes.to) if body else []
