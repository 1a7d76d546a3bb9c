"""Issue 13, findings 2 and 11: administrators' templates render in a sandbox and `validate`
rejects what the sandbox would refuse; YAML nested hundreds of levels deep is a path:line:col
message, not a RecursionError."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.definitions.loader import load_definitions
from engine.definitions.template_checks import check_template
from notifications.render import BUILTIN_DIR, Renderer, TemplateError
from tests.notifications.conftest import sample_contexts

KEHOACH = Path(sys.executable).with_name("kehoach")
ESCAPE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def kehoach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KEHOACH), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def with_receipt_override(definitions: Path, line: str) -> Path:
    """definitions/templates/receipt.txt: the built-in receipt with `line` appended (line N)."""
    target = definitions / "templates" / "receipt.txt"
    text = (BUILTIN_DIR / "receipt.txt").read_text(encoding="utf-8").rstrip("\n")
    target.write_text(f"{text}\n{line}\n", encoding="utf-8")
    return target


def test_validate_rejects_the_issue_s_template_escape(definitions_copy: Path) -> None:
    target = with_receipt_override(definitions_copy, ESCAPE)
    line = len(target.read_text(encoding="utf-8").splitlines())
    result = load_definitions(definitions_copy)
    assert result.definitions is None
    found = [p for p in result.problems if p.path.endswith("templates/receipt.txt")]
    assert [p.line for p in found] == [line, line]  # '__init__' and '__globals__'
    assert any("thuộc tính nội bộ '__init__'" in p.message for p in found)
    shown = kehoach("validate", "--definitions", str(definitions_copy))
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert f"templates/receipt.txt:{line}:1: mẫu thư truy cập thuộc tính nội bộ" in shown.stderr


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{{ cycler|attr('__init__') }}", "nội bộ '__init__'"),
        ("{{ answers['__class__'] }}", "nội bộ '__class__'"),
        ("{{ signature.mro }}", "nội bộ 'mro'"),
        ("{% set x = attachments.append(1) %}", "gọi 'append()'"),
        ("{{ obligation.title", "sai cú pháp"),
    ],
)
def test_validate_rejects_what_the_sandbox_refuses(
    definitions_copy: Path, line: str, fragment: str
) -> None:
    with_receipt_override(definitions_copy, line)
    problems = load_definitions(definitions_copy).problems
    assert any(p.path.endswith("templates/receipt.txt") and fragment in p.message for p in problems)


def test_every_builtin_template_passes_the_check() -> None:
    for path in sorted(BUILTIN_DIR.iterdir()):
        assert check_template(path.name, path.read_bytes()) == [], path.name


def test_an_escaping_template_cannot_run_even_unvalidated(tmp_path: Path) -> None:
    """A template placed after `validate` ran still renders in the sandbox: no command runs,
    no setting or key leaks; the letter fails as a TemplateError instead."""
    custom = tmp_path / "templates"
    custom.mkdir()
    secrets_seen = os.environ.get("KEHOACH_SECRET_KEY", "no-key-set")
    # The escape alone: the built-in receipt extends a layout, where text outside its blocks
    # would never render at all.
    (custom / "receipt.txt").write_text(ESCAPE + "\n", encoding="utf-8")
    renderer = Renderer(custom)
    with pytest.raises(TemplateError) as caught:
        renderer.render("receipt", sample_contexts()["receipt"])
    assert "uid=" not in str(caught.value) and secrets_seen not in str(caught.value)
    (custom / "receipt.txt").write_text("{{ cycler|attr('__init__') }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="unsafe|SecurityError"):
        Renderer(custom).render("receipt", sample_contexts()["receipt"])
    (custom / "receipt.txt").write_text("{% set x = answers.append(1) %}ok\n", encoding="utf-8")
    with pytest.raises(TemplateError):
        Renderer(custom).render("receipt", sample_contexts()["receipt"])


def flow(levels: int) -> str:
    return "bodies:\n  - id: sau\n    x: " + "[" * levels + "]" * levels + "\n"


def block(levels: int) -> str:
    lines = ["bodies:", "  - id: sau", "    x:"]
    lines += ["      " + "  " * i + f"k{i}:" for i in range(levels)]
    return "\n".join(lines) + " 1\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [(flow(600), 3), (flow(5000), 3), (block(600), None)],
    ids=["flow-600", "flow-5000", "block-600"],
)
def test_deep_yaml_is_a_located_problem(tmp_path: Path, text: str, line: int | None) -> None:
    definitions = tmp_path / "definitions"
    shutil.copytree(Path(__file__).parent / "fixtures" / "valid", definitions)
    (definitions / "deep.yaml").write_text(text, encoding="utf-8")
    result = load_definitions(definitions)
    deep_problems = [
        p
        for p in result.problems
        if p.path.endswith("deep.yaml") and "lồng nhau quá sâu" in p.message
    ]
    assert len(deep_problems) == 1 and deep_problems[0].col > 1
    where = deep_problems[0].line
    assert where == line if line else where > 60  # the level past the limit, not line 1
    shown = kehoach("validate", "--definitions", str(definitions))
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert f"deep.yaml:{where}:" in shown.stderr and "lồng nhau quá sâu" in shown.stderr


def test_nesting_within_the_limit_is_not_refused(tmp_path: Path) -> None:
    from engine.definitions.yamlmarks import read_yaml

    document = read_yaml(("x: " + "[" * 60 + "]" * 60 + "\n").encode())
    assert document.errors == []
