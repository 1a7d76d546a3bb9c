"""The operators' pages: what was received, and accepting or returning it with a comment.

Behind HTTP Basic (one operator credential from the environment; see docs/portal.md). Each
form carries a CSRF token tied to the operator and the assignment, since browsers re-send Basic
credentials on cross-site requests by themselves.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response

from engine import files as attachment_files
from engine.ledger import inbox as ledger_inbox
from engine.ledger.errors import InvalidInput, LedgerError
from engine.ledger.queries import status_rows
from engine.ledger.states import UNDER_REVIEW, CycleState
from notifications.revisions import accept_submission, return_submission
from portal import formview
from portal.lookup import AssignmentPage, load_page
from portal.security import basic_credentials
from portal.uploads import Limits, UploadRefused, read_form

router = APIRouter(prefix="/operator")
REALM = 'Basic realm="kehoach-van-hanh", charset="UTF-8"'
COMMENT_FIELD = "comment"


class Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _portal(request: Request):
    return request.app.state.portal


async def _operator(request: Request) -> str:
    """The authenticated operator's user name, or Denied carrying the 401/503 page."""
    portal = _portal(request)
    credential = portal.config.operator
    if credential is None:
        raise Denied(
            portal.pages.error(
                503,
                "Trang vận hành chưa được bật: cần đặt KEHOACH_OPERATOR_PASSWORD hoặc "
                "KEHOACH_OPERATOR_PASSWORD_HASH trước khi chạy cổng tiếp nhận.",
            )
        )
    given = basic_credentials(request.headers.get("authorization"))
    address = request.client.host if request.client else "?"
    if given is not None:
        # A client that keeps guessing waits, and its guesses are not even hashed meanwhile.
        wait = portal.logins.wait(address)
        if wait:
            raise Denied(portal.too_many("Đăng nhập sai quá nhiều lần từ địa chỉ mạng này.", wait))
    if given is not None and await run_in_threadpool(credential.check, *given):
        portal.logins.succeeded(address)
        return given[0]
    if given is not None:
        portal.logins.failed(address)
    raise Denied(
        portal.pages.error(
            401,
            "Cần tên đăng nhập và mật khẩu của cán bộ vận hành để xem trang này.",
            headers={"WWW-Authenticate": REALM},
        )
    )


def _scope(user: str, assignment_id: int) -> str:
    return f"operator:{user}:{assignment_id}"


@router.get("")
async def overview(request: Request) -> Response:
    portal = _portal(request)
    try:
        await _operator(request)
    except Denied as denied:
        return denied.response

    def rows():
        with portal.desk.sessions() as session:
            return (
                status_rows(session, today=portal.today()),
                ledger_inbox.entries(session, ["triage", "bounce", "recorded"]),
            )

    everything, mails = await run_in_threadpool(rows)
    current = [r for r in everything if r.cycle_state == CycleState.open.value]
    groups: dict[tuple[str, str], list] = {}
    for row in current:
        groups.setdefault((row.obligation_id, row.period_key), []).append(row)
    titles = {o.id: o.title for o in portal.desk.defs.obligations.values()}
    return portal.pages.render(
        "operator_list.html",
        waiting=[r for r in current if r.state in UNDER_REVIEW],
        groups=groups,
        titles=titles,
        today=portal.today(),
        triage=[m for m in mails if m.state == "triage"],
        bounces=[m for m in mails if m.state == "bounce"],
        incomplete=[m for m in mails if m.state == "recorded" and m.missing_fields],
    )


def _detail(
    request: Request,
    user: str,
    page: AssignmentPage,
    *,
    error: str | None = None,
    comment: str = "",
    status: int = 200,
) -> Response:
    portal = _portal(request)
    form = page.obligation.form
    return portal.pages.render(
        "operator_detail.html",
        status=status,
        page=page,
        versions=[(s, formview.answers(form, s.fields)) for s in reversed(page.history)],
        reviewable=page.cycle_open and page.row.state in UNDER_REVIEW,
        csrf=portal.form_token(_scope(user, page.row.assignment_id)),
        error=error,
        comment=comment,
        done=request.query_params.get("done", ""),
        user=user,
    )


async def _load(request: Request, assignment_id: int) -> AssignmentPage | Response:
    page = None
    if 0 < assignment_id < 2**53:  # beyond that the database cannot even compare it
        page = await run_in_threadpool(
            lambda: load_page(_portal(request).desk, assignment_id, history=True)
        )
    if page is None:
        return _portal(request).pages.error(404, "Không có phần việc này.")
    return page


@router.get("/assignments/{assignment_id}")
async def detail(request: Request, assignment_id: int) -> Response:
    try:
        user = await _operator(request)
    except Denied as denied:
        return denied.response
    page = await _load(request, assignment_id)
    return page if isinstance(page, Response) else _detail(request, user, page)


@router.post("/assignments/{assignment_id}/{action}")
async def review(request: Request, assignment_id: int, action: str) -> Response:
    portal = _portal(request)
    try:
        user = await _operator(request)
    except Denied as denied:
        return denied.response
    if action not in ("accept", "return"):
        return portal.pages.error(404, "Không có thao tác này.")
    page = await _load(request, assignment_id)
    if isinstance(page, Response):
        return page
    scope = _scope(user, assignment_id)
    try:
        form = await read_form(
            request,
            Limits(max_file_bytes=1, max_files=0),
            lambda value: portal.form_token_valid(scope, value),
        )
    except UploadRefused as refused:
        return portal.pages.error(refused.status, refused.message)
    form.close()
    comment = (form.first(COMMENT_FIELD) or "").strip()
    now, today = portal.now(), portal.today()
    try:
        if action == "accept":
            await run_in_threadpool(accept_submission, portal.desk, page.row, who=user, now=now)
        else:
            await run_in_threadpool(
                return_submission, portal.desk, page.row, comment, who=user, today=today, now=now
            )
            portal.courier.kick()
    except InvalidInput as error:
        return _detail(request, user, page, error=str(error), comment=comment, status=422)
    except LedgerError as error:  # a closed cycle, or a state that cannot be reviewed
        return portal.pages.error(409, str(error))
    done = "accepted" if action == "accept" else "returned"
    return RedirectResponse(
        f"{portal.pages.base}/operator/assignments/{assignment_id}?done={done}", status_code=303
    )


@router.get("/files/{assignment_id}/{sha256}")
async def download(request: Request, assignment_id: int, sha256: str) -> Response:
    """A received file, only through an assignment that received it."""
    portal = _portal(request)
    try:
        await _operator(request)
    except Denied as denied:
        return denied.response
    page = await _load(request, assignment_id)
    if isinstance(page, Response):
        return page
    found = next(
        (a for s in page.history for a in s.attachments if a.sha256 == sha256.lower()), None
    )
    if found is None:
        return portal.pages.error(404, "Không có tệp này trong báo cáo của cơ quan.")
    path = attachment_files.path_for(portal.desk.files_dir, found.sha256)
    if not path.is_file():
        return portal.pages.error(404, "Tệp không còn trong kho lưu trữ.")
    return FileResponse(
        path,
        media_type=found.content_type,
        filename=attachment_files.served_name(found.file_name, found.content_type),
        content_disposition_type="attachment",
    )
