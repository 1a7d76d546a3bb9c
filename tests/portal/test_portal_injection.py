"""Script-injection payloads typed into every text the portal takes come out escaped: in the
form, the receipt page, the error page, the operator's pages and the emails."""

from __future__ import annotations

import pytest

from tests.portal.conftest import (
    OPERATOR,
    PDF,
    answer,
    csrf_of,
    is_receipt,
    link_in,
    post_form,
)

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)

PAYLOAD = "<script>alert('kehoach')</script><img src=x onerror=alert(1)>\"'&"
ESCAPED = "&lt;script&gt;alert("
# No slash: a name with one is refused as a path (tests/portal/test_portal_refusals.py).
FILE_PAYLOAD = "<img src=x onerror=alert(2)>&'\".pdf"


def assert_inert(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<img src=x" not in html.lower()
    assert ESCAPED in html


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_payloads_in_every_text_field(live_portal) -> None:
    path = live_portal.path("so-noi-vu")
    with live_portal.client() as client:
        # Rejected: the payload in a number field comes back in the error page, escaped.
        refused = post_form(client, path, answer(so_tin_bai=PAYLOAD, ket_qua=PAYLOAD))
        assert refused.status_code == 422
        assert_inert(refused.text)
        # Accepted: the payload in the long text, the sender's name and the file's name.
        posted = post_form(
            client,
            path,
            answer(ket_qua=PAYLOAD, _who=PAYLOAD),
            files=[("_files", (FILE_PAYLOAD, PDF, "application/pdf"))],
        )
        assert posted.status_code == 303, posted.text[:2000]
        assert_inert(client.get(posted.headers["location"]).text)
        assert_inert(client.get(path).text)  # the form prefilled with the latest version

        receipt = live_portal.wait_for_mail(is_receipt)
        assert_inert(html_part(receipt))

        # The operator's pages show the same answer, escaped, and return it with a payload.
        operator = OPERATOR
        assignment_id = path.split("/s/")[1].split(".")[0]
        detail = client.get(f"/operator/assignments/{assignment_id}", auth=operator)
        assert detail.status_code == 200
        assert_inert(detail.text)
        returned = client.post(
            f"/operator/assignments/{assignment_id}/return",
            data={"_csrf": csrf_of(detail.text), "comment": PAYLOAD},
            auth=operator,
            follow_redirects=False,
        )
        assert returned.status_code == 303
        assert_inert(client.get(returned.headers["location"], auth=operator).text)

    letter = live_portal.wait_for_mail(
        lambda m: str(m["Subject"]).startswith("[Đề nghị chỉnh sửa]")
    )
    assert_inert(html_part(letter))
    with live_portal.client() as client:
        # The letter's new link (the old one answers 410) shows the operator's comment.
        assert_inert(client.get(link_in(letter).removeprefix(live_portal.url)).text)
    # The plain-text part is plain text: the words arrive as typed, nothing to interpret.
    assert PAYLOAD in letter.get_body(preferencelist=("plain",)).get_content()
