"""The agencies' pages: the form behind a personal link, its submission, the receipt.

GET never writes (mail scanners prefetch links); only POST to `/s/{token}/submit`, carrying the
CSRF token of a form page rendered for the same link, records anything. Every refusal is a
Vietnamese page with a 4xx status and leaves the ledger and the file store untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from engine import files as attachment_files
from engine.forms import FormErrors
from engine.ledger.errors import CycleClosed, InvalidInput, InvalidTransition, NotFound
from engine.ledger.results import SubmissionView
from engine.ledger.states import AssignmentState
from engine.tokens import TokenError, read_link
from notifications.receipts import submit as record_answer
from notifications.vietnamese import capfirst, format_date
from portal import formview
from portal.lookup import AssignmentPage, load_page
from portal.uploads import Limits, ParsedForm, UploadRefused, discard_rest, read_form

router = APIRouter()
MAX_TOKEN_CHARS = 120
# [0-9], not str.isdigit(): "²" is a digit to isdigit() and a ValueError to int().
NUMBER = re.compile(r"[0-9]{1,6}")
MB = 1024 * 1024


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
        grant = read_link(token, portal.secret)
    except TokenError as error:
        raise Refusal(403, str(error)) from error
    expires_on = grant.expires_on
    if portal.today() > expires_on:
        raise Refusal(
            410,
            f"Đường liên kết đã hết hạn từ sau {format_date(expires_on)}: kỳ báo cáo đã đóng.",
        )
    page = load_page(portal.desk, grant.assignment_id, version=version)
    if page is None:
        raise Refusal(404, "Không tìm thấy phần việc ứng với đường liên kết này.")
    if grant.revision < page.link_revision:
        raise Refusal(
            410,
            "Báo cáo đã được trả lại để chỉnh sửa và một đường liên kết mới đã được gửi tới "
            "hộp thư của Quý cơ quan; đường liên kết này không còn dùng được. "
            "Xin mở đường liên kết trong thư “đề nghị chỉnh sửa” mới nhất.",
        )
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
        csrf=portal.form_token(csrf_scope(token)),
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
    kept = {int(k) for k in form.fields.get(formview.KEEP_FIELD, []) if NUMBER.fullmatch(k)}
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
    back = f"{portal.pages.base}/s/{token}"
    refused = _over_a_limit(portal, page, _client_address(request), back)
    if refused is not None:
        await _drain(request)
        return refused
    rules = page.obligation.form.attachments
    limits = Limits(max_file_bytes=int(rules.max_mb * MB), max_files=rules.max_files)
    scope = csrf_scope(token)

    def csrf_ok(value: str) -> bool:
        return portal.form_token_valid(scope, value)

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
            # Always in a worker thread, even on SQLite: the commit waits for the disk (fsync,
            # synchronous=FULL: an answer we acknowledge must survive a power cut), and on the
            # event loop that wait held up every other request (a third of the loop's busy time
            # at 20 clients). Hashing megabytes, inspecting zip members and waiting for another
            # process's write all release the GIL too, so pages keep being served meanwhile.
            recorded = await portal.in_ledger(_record, portal, page, form, answer, thread=True)
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
        portal.answers_by_link.retry_after(str(page.row.assignment_id))
        portal.courier.kick()
    suffix = "" if recorded.created else "?same=1"
    return RedirectResponse(
        f"{portal.pages.base}/s/{token}/receipt/{recorded.version}{suffix}", status_code=303
    )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _over_a_limit(portal, page: AssignmentPage, address: str, back: str) -> Response | None:
    """The 429 page when this answer would pass a limit (per client address, per link,
    versions per cycle), or None. Counted before the body is read: a flood costs no parsing."""
    limits = portal.limits
    wait = portal.answers_by_address.retry_after(address)
    if wait:
        return portal.too_many("Có quá nhiều báo cáo gửi đi từ cùng một địa chỉ mạng.", wait, back)
    wait = portal.answers_by_link.retry_after(str(page.row.assignment_id), record=False)
    if wait:
        return portal.too_many(
            f"Đường liên kết này đã gửi {limits.answers_per_link} lần trong "
            f"{limits.window_seconds / 60:g} phút vừa qua.",
            wait,
            back,
        )
    if page.latest is not None and page.latest.version >= limits.versions_per_cycle:
        return portal.pages.error(
            429,
            f"Quý cơ quan đã gửi {page.latest.version} lần trong kỳ báo cáo này, là số lần tối đa "
            "hệ thống nhận. Nếu cần sửa thêm, xin liên hệ cơ quan tiếp nhận.",
            back_url=back,
        )
    return None


async def _drain(request: Request) -> None:
    """Read and drop a refused request's body (bounded), so a browser shows our page."""
    await discard_rest(request)


@router.get("/s/{token}/receipt/{version}")
async def receipt(request: Request, token: str, version: str) -> Response:
    portal = _portal(request)
    number = int(version) if NUMBER.fullmatch(version) else 0
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
