"""Every email kind renders as a formal Vietnamese letter, safely, or fails loudly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from notifications.contexts import KINDS, context_dict
from notifications.render import Renderer, TemplateError

DUE_TEXT = "ngày 17 tháng 12 năm 2026"
TITLE = "Báo cáo kết quả công tác truyền thông chính sách"
PAYLOAD = "<script>alert(1)</script>"
LEFTOVERS = ("None", "{{", "}}", "{%", "%}", "Undefined")
# UTF-8 read as Latin-1 shows up as these; their presence means the diacritics were mangled.
MOJIBAKE = re.compile("[ÃÂÆ][\u0080-\u00ff]|á»|Ä'")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_clean_vietnamese(renderer: Renderer, contexts, kind: str) -> None:
    message = renderer.render(kind, contexts[kind])

    assert "\n" not in message.subject and message.subject == message.subject.strip()
    for part in (message.subject, message.text, message.html):
        for leftover in LEFTOVERS:
            assert leftover not in part, f"{kind}: {leftover!r} left in output"
        assert not MOJIBAKE.search(part)
    assert message.text.startswith("Kính gửi: ")
    assert "Kính gửi:" in message.html
    assert "Trân trọng./." in message.text and "Trân trọng./." in message.html
    assert "Sở Văn hóa, Thể thao và Du lịch tỉnh Tuyên Quang" in message.text
    assert '<html lang="vi">' in message.html and 'name="viewport"' in message.html
    if kind == "digest":
        assert "ngày 21 tháng 12 năm 2026" in message.subject
    else:
        # Subjects name the obligation, the period and the due date.
        assert f"{TITLE} năm 2026" in message.subject
        assert f"hạn {DUE_TEXT}" in message.subject
        assert TITLE in message.text and TITLE in message.html


def test_reminder_subject_reads_as_specified(renderer: Renderer, contexts) -> None:
    subject = renderer.render("reminder", contexts["reminder"]).subject
    assert subject == f"[Nhắc hạn] {TITLE} năm 2026 — hạn {DUE_TEXT}"


def test_request_says_what_is_owed_by_when_where_and_why(renderer: Renderer, contexts) -> None:
    message = renderer.render("request", contexts["request"])
    form_url = contexts["request"].form_url
    for part in (message.text, message.html):
        assert "Thứ Năm, ngày 17 tháng 12 năm 2026" in part  # 17/12/2026 is a Thursday
        assert "Số tin, bài truyền thông chính sách đã đăng" in part
        assert "Khó khăn, vướng mắc và kiến nghị" in part
        assert "Kế hoạch số 125/KH-UBND ngày 15 tháng 6 năm 2023 của" in part
        assert "(mục IV)" in part
        assert "đề nghị Quý cơ quan gửi" in part
        assert "Nơi nhận kết quả" in part
        assert "tối đa 5 tệp" in part
    assert form_url in message.text
    assert f'href="{form_url.replace("&", "&amp;")}"' in message.html


def test_kind_specific_facts(renderer: Renderer, contexts) -> None:
    def text(kind: str) -> str:
        return renderer.render(kind, contexts[kind]).text

    assert "còn 3 ngày" in text("reminder")
    assert "hôm nay, Thứ Năm, ngày 17 tháng 12 năm 2026" in text("due-today")
    assert "quá hạn 2 ngày" in text("overdue")

    escalation = renderer.render("escalation", contexts["escalation"])
    assert escalation.text.startswith("Kính gửi: Thủ trưởng Sở Tư pháp tỉnh Tuyên Quang\n")
    assert "Đồng gửi: Văn phòng Sở Tư pháp; Văn phòng Ủy ban nhân dân tỉnh." in escalation.text
    assert "Thủ trưởng Thủ trưởng" not in escalation.text + escalation.html
    assert "báo cáo chung của tỉnh" in escalation.text
    assert "3 lần nhắc hạn" in escalation.text and "ngày 17 tháng 11 năm 2026" in escalation.text
    assert "Đồng gửi:" in escalation.html and "Thủ trưởng Sở Tư pháp" in escalation.html

    receipt = renderer.render("receipt", contexts["receipt"])
    sha = contexts["receipt"].attachments[0].sha256
    assert f"SHA-256: {sha[:12]}" in receipt.text and f"SHA-256: {sha[:12]}" in receipt.html
    assert sha not in receipt.text and sha not in receipt.html
    assert "14 giờ 05, Thứ Ba, ngày 15 tháng 12 năm 2026" in receipt.text
    assert "Số tin, bài truyền thông chính sách đã đăng: 1.245" in receipt.text
    assert "lần gửi thứ 2" in receipt.text and "trong thời hạn" in receipt.text

    returned = renderer.render("returned", contexts["returned"])
    assert "Đề nghị bổ sung số liệu quý IV.\nGhi rõ nguồn kinh phí" in returned.text
    assert contexts["returned"].form_url in returned.text
    assert "white-space:pre-line" in returned.html

    closed = text("closed-summary")
    assert (
        "1. Gửi đúng hạn (1 cơ quan)" in closed and "- Sở Tư pháp — 14 giờ 05, 15/12/2026" in closed
    )
    assert "2. Gửi sau thời hạn (1 cơ quan)" in closed and "Sở Nội vụ — 09 giờ 30" in closed
    assert "3. Chưa gửi (2 cơ quan)" in closed and "- Ủy ban nhân dân xã Lâm Bình" in closed


def test_digest_lists_overdue_first_most_overdue_on_top(renderer: Renderer, contexts) -> None:
    message = renderer.render("digest", contexts["digest"])
    order = ["Ủy ban nhân dân xã Lâm Bình", "Sở Tài chính", "Sở Ngoại vụ"]
    for part in (message.text, message.html):
        positions = [part.index(body) for body in order]
        assert positions == sorted(positions), part
    assert "2 quá hạn, 1 trong hạn" in message.subject
    assert "quá hạn 7 ngày" in message.text


def test_dict_context_renders_like_the_dataclass(renderer: Renderer, contexts) -> None:
    for kind in KINDS:
        as_dict = context_dict(contexts[kind])
        assert renderer.render(kind, as_dict) == renderer.render(kind, contexts[kind])


def _poison(value, name: str = ""):
    """Replace every string in a context (recursively) with an HTML-injection payload."""
    if isinstance(value, str):
        if name in ("form_url",):
            return f"https://kehoach.tuyenquang.example/f/?q={PAYLOAD}"
        return PAYLOAD
    if isinstance(value, list):
        return [_poison(v, name) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _poison(getattr(value, f.name), f.name) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    return value


@pytest.mark.parametrize("kind", KINDS)
def test_injected_html_comes_out_escaped(renderer: Renderer, contexts, kind: str) -> None:
    poisoned = _poison(contexts[kind])
    message = renderer.render(kind, poisoned)
    assert "<script" not in message.html
    assert "&lt;script&gt;" in message.html
    # Plain text is not HTML: the payload is shown as typed, and never breaks the subject.
    assert PAYLOAD in message.text or "<script>aler" in message.text
    assert "\n" not in message.subject


def test_missing_variable_is_an_error(renderer: Renderer, contexts) -> None:
    context = context_dict(contexts["reminder"])
    del context["due_on"]
    with pytest.raises(TemplateError, match="due_on"):
        renderer.render("reminder", context)


def test_missing_nested_attribute_is_an_error(renderer: Renderer, contexts) -> None:
    context = context_dict(contexts["request"])
    obligation = context_dict(contexts["request"].obligation)
    del obligation["report_to"]
    context["obligation"] = obligation
    with pytest.raises(TemplateError, match="report_to"):
        renderer.render("request", context)


def test_none_value_is_an_error_not_the_word_none(renderer: Renderer, contexts) -> None:
    context = context_dict(contexts["reminder"])
    context["days_left"] = None
    with pytest.raises(TemplateError, match="None"):
        renderer.render("reminder", context)


def test_only_http_links_reach_a_letter(renderer: Renderer, contexts) -> None:
    context = dataclasses.replace(contexts["reminder"], form_url="javascript:alert(1)")
    with pytest.raises(TemplateError, match="http"):
        renderer.render("reminder", context)


def test_unknown_or_unsafe_template_ids_fail_clearly(renderer: Renderer, contexts) -> None:
    with pytest.raises(TemplateError, match="missing file khong-co.subject.txt"):
        renderer.render("khong-co", contexts["reminder"])
    with pytest.raises(TemplateError, match="invalid template id"):
        renderer.render("../base", contexts["reminder"])


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_custom_template_from_extra_directory(tmp_path: Path, contexts) -> None:
    _write(tmp_path, "nhac-han-bao-chi.subject.txt", "[Nhắc hạn riêng] {{ obligation.title }}")
    _write(
        tmp_path,
        "nhac-han-bao-chi.txt",
        "Kính gửi: {{ addressee.name }}\nHạn: {{ due_on|date_official }} ({{ due_on|weekday }}).\n",
    )
    _write(
        tmp_path,
        "nhac-han-bao-chi.html",
        '{% extends "base.html" %}{% block heading %}Nhắc riêng{% endblock %}'
        "{% block content %}<p>Hạn: {{ due_on|date_official }} {{ addressee.name }}</p>"
        "{% endblock %}",
    )
    renderer = Renderer(extra_template_dir=tmp_path)
    context = dataclasses.replace(
        contexts["reminder"], due_on=dt.date(2027, 1, 5), addressee=_addressee("Báo <Tuyên Quang>")
    )
    message = renderer.render("nhac-han-bao-chi", context)
    assert message.subject == f"[Nhắc hạn riêng] {TITLE}"
    assert "Hạn: ngày 05 tháng 01 năm 2027 (Thứ Ba)." in message.text
    assert "Báo <Tuyên Quang>" in message.text
    assert "Hạn: ngày 05 tháng 01 năm 2027 Báo &lt;Tuyên Quang&gt;" in message.html
    assert "Nhắc riêng" in message.html and "Trân trọng./." in message.html  # the shared frame
    assert "nhac-han-bao-chi" in renderer.kinds() and "reminder" in renderer.kinds()


def test_custom_template_without_html_gets_the_shared_frame(tmp_path: Path, contexts) -> None:
    _write(tmp_path, "thong-bao.subject.txt", "Thông báo {{ period_label }}")
    _write(tmp_path, "thong-bao.txt", "Kính gửi: {{ addressee.name }}\n\nDòng một <b>\ndòng hai\n")
    message = Renderer(tmp_path).render("thong-bao", contexts["reminder"])
    assert message.subject == "Thông báo năm 2026"
    assert "Dòng một &lt;b&gt;<br>dòng hai" in message.html
    assert "<b>" not in message.html
    assert "Thông báo năm 2026" in message.html  # the heading of the frame


def test_extra_directory_can_reword_a_builtin_kind(tmp_path: Path, contexts) -> None:
    _write(tmp_path, "reminder.subject.txt", "[Nhắc] {{ obligation.title }} — {{ due_on|date }}")
    message = Renderer(tmp_path).render("reminder", contexts["reminder"])
    assert message.subject == f"[Nhắc] {TITLE} — {DUE_TEXT}"
    assert "còn 3 ngày" in message.text  # the text template is still the built-in one


def test_templates_are_compiled_once(tmp_path: Path, contexts) -> None:
    _write(tmp_path, "mot-lan.subject.txt", "Tiêu đề {{ period_label }}")
    _write(tmp_path, "mot-lan.txt", "Nội dung {{ period_label }}")
    renderer = Renderer(tmp_path)
    first = renderer.render("mot-lan", contexts["reminder"])
    for path in tmp_path.iterdir():
        path.unlink()
    # Files gone: a second render can only succeed from the compiled templates.
    assert renderer.render("mot-lan", contexts["reminder"]) == first


def test_the_sandbox_judges_alike_on_every_render(tmp_path: Path, contexts) -> None:
    """The sandbox remembers its verdict per (type, attribute): on the same renderer an allowed
    field of an object stays allowed, a refused attribute of the same object (or of a list)
    stays refused however many letters were rendered before."""
    _write(tmp_path, "an-toan.subject.txt", "Thư {{ addressee.name }}")
    _write(tmp_path, "an-toan.txt", "Kính gửi: {{ addressee.name }}\n")
    _write(tmp_path, "noi-bo.subject.txt", "Thư {{ addressee.name }}")
    _write(tmp_path, "noi-bo.txt", "{{ addressee.__init__.__globals__ }}\n")
    _write(tmp_path, "sua-danh-sach.subject.txt", "Thư {{ addressee.name }}")
    _write(tmp_path, "sua-danh-sach.txt", "{% set x = rungs.append(1) %}{{ addressee.name }}\n")
    renderer = Renderer(tmp_path)
    context = {**context_dict(contexts["reminder"]), "rungs": ["a"]}
    name = contexts["reminder"].addressee.name
    for _ in range(3):
        assert renderer.render("an-toan", context).text == f"Kính gửi: {name}\n"
        with pytest.raises(TemplateError):
            renderer.render("noi-bo", context)
        with pytest.raises(TemplateError):
            renderer.render("sua-danh-sach", context)
        assert context["rungs"] == ["a"]


def test_missing_extra_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(tmp_path / "khong-co")


def _addressee(name: str):
    from notifications.contexts import Addressee

    return Addressee(name=name)


def test_syntax_error_in_custom_template_names_file_and_line(tmp_path: Path, contexts) -> None:
    _write(tmp_path, "hong.subject.txt", "Tiêu đề")
    _write(tmp_path, "hong.txt", "Dòng một\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"syntax error in .*hong\.txt, line 2"):
        Renderer(tmp_path).render("hong", contexts["reminder"])


def test_templates_hold_no_plan_specific_wording() -> None:
    """Authority, sender, names and citations come from the definitions, never the templates."""
    from notifications.render import BUILTIN_DIR

    fixed = ("tỉnh", "thành phố", "Tuyên Quang", "UBND", "Ủy ban nhân dân", "Kế hoạch số")
    for path in sorted(BUILTIN_DIR.iterdir()):
        text = path.read_text(encoding="utf-8")
        for phrase in fixed:
            assert phrase not in text, f"{path.name} says {phrase!r}"


def test_a_due_today_letter_sent_late_does_not_say_today(renderer: Renderer, contexts) -> None:
    late = dataclasses.replace(contexts["due-today"], sent_on=dt.date(2026, 12, 19))
    message = renderer.render("due-today", late)
    for part in (message.subject, message.text, message.html):
        assert "hôm nay" not in part
    assert message.subject.startswith("[Đã hết hạn]")
    assert "là Thứ Năm, ngày 17 tháng 12 năm 2026" in message.text


def test_the_sandbox_judges_every_render_alike(tmp_path: Path) -> None:
    """Verdicts are remembered per type and name: an allowed one does not open another name of
    the same type, and a refusal holds on every later render."""
    bodies = {"safe": "{{ answers.get('a') }}\n", "probe": "{{ answers.update }}\n"}
    for kind, body in bodies.items():
        (tmp_path / f"{kind}.subject.txt").write_text("Thử", encoding="utf-8")
        for suffix in ("txt", "html"):
            (tmp_path / f"{kind}.{suffix}").write_text(body, encoding="utf-8")
    renderer = Renderer(tmp_path)
    for _ in range(2):
        assert renderer.render("safe", {"answers": {"a": "một"}}).text == "một\n"
        with pytest.raises(TemplateError, match="unsafe|SecurityError|update"):
            renderer.render("probe", {"answers": {"a": "một"}})
