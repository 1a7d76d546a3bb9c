"""Render an email kind into subject, plain text and HTML from jinja2 templates.

Each kind is three files, `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`, under
`notifications/templates/` or an extra directory (administrators' `definitions/templates/`).
Files in the extra directory win over the built-in ones of the same name, so an administrator
can reword a built-in kind as well as add a new id. A custom kind without an `.html` file gets
its plain text laid out in the shared HTML frame. The context each kind needs is documented in
`notifications.contexts`.

Every template renders in jinja2's ImmutableSandboxedEnvironment: an administrator's template
cannot reach Python internals (`kehoach validate` rejects such a template with its line).
Missing variables are errors (StrictUndefined), and so is a value that renders as None: an
official letter must never say "None" or leave a blank where a date belongs.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    Undefined,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from notifications.contexts import context_dict, split_overdue
from notifications.vietnamese import FILTERS

BUILTIN_DIR = Path(__file__).parent / "templates"
KIND_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_WHITESPACE = re.compile(r"\s+")


class TemplateError(Exception):
    """A template is missing, broken, or was given a context it cannot render."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def _never_none(value: Any) -> Any:
    if value is None:
        raise TemplateError("a template expression evaluated to None; supply a real value")
    return value


def _strict(function: Callable[..., Any]) -> Callable[..., Any]:
    """Make a filter raise on an undefined input instead of receiving the Undefined object."""

    @functools.wraps(function)
    def checked(value: Any, *args: Any) -> Any:
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return function(value, *args)

    return checked


def http_url(value: str) -> str:
    """Only http(s) links go into a letter; anything else (javascript:, data:) is a bug."""
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise TemplateError(f"not an http(s) link: {value!r}")
    return value


def paragraphs(text: str) -> Markup:
    """Plain text as escaped HTML paragraphs, line breaks kept."""
    blocks = [b for b in re.split(r"\n\s*\n", str(text).strip()) if b.strip()]
    html = "".join(
        '<p style="margin:0 0 12px;">'
        + Markup("<br>").join(escape(line) for line in block.splitlines())
        + "</p>"
        for block in blocks
    )
    return Markup(html)


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, remembering its verdict on each (type, attribute name).

    The verdict depends on nothing else (the checks are `isinstance` tests and the name), and a
    receipt asked it about the same few dataclass fields dozens of times per letter: a sizeable
    part of rendering the receipt inside the portal's answer. An object whose `__class__` is not
    its type (a proxy) is judged afresh every time.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        kind = type(obj)
        if obj.__class__ is not kind:
            return super().is_safe_attribute(obj, attr, value)
        verdict = self._verdicts.get((kind, attr))
        if verdict is None:
            verdict = self._verdicts[(kind, attr)] = super().is_safe_attribute(obj, attr, value)
        return verdict


def _environment(loader: ChoiceLoader, autoescape: bool) -> Environment:
    # Administrators' templates override the built-in ones: a template is code, so every one of
    # them runs in jinja2's immutable sandbox (no '__globals__', no 'os', no mutating a list).
    env = _Sandbox(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        finalize=_never_none,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change while a process runs; skipping the mtime check keeps the
        # simulator's thousands of renders free of filesystem calls.
        auto_reload=False,
        cache_size=-1,
    )
    own = {**FILTERS, "http_url": http_url, "paragraphs": paragraphs}
    env.filters.update({name: _strict(f) for name, f in own.items()})
    env.filters["split_overdue"] = _strict(split_overdue)
    return env


class Renderer:
    """Compiles each kind's templates once and renders them on demand."""

    def __init__(self, extra_template_dir: Path | None = None) -> None:
        dirs = [BUILTIN_DIR] if extra_template_dir is None else [extra_template_dir, BUILTIN_DIR]
        if extra_template_dir is not None and not extra_template_dir.is_dir():
            raise TemplateError(f"template directory does not exist: {extra_template_dir}")
        loader = ChoiceLoader([FileSystemLoader(str(d)) for d in dirs])
        self._text_env = _environment(loader, autoescape=False)
        self._html_env = _environment(loader, autoescape=True)
        self._compiled: dict[str, tuple[Template, Template, Template | None]] = {}

    def kinds(self) -> list[str]:
        """Every kind that has at least a subject and a text template."""
        names = set(self._text_env.list_templates())
        return sorted(
            name.removesuffix(".subject.txt")
            for name in names
            if name.endswith(".subject.txt") and f"{name.removesuffix('.subject.txt')}.txt" in names
        )

    def _templates(self, kind: str) -> tuple[Template, Template, Template | None]:
        cached = self._compiled.get(kind)
        if cached is not None:
            return cached
        if not KIND_PATTERN.match(kind):
            raise TemplateError(f"invalid template id {kind!r}: use lowercase letters, digits, '-'")
        try:
            subject = self._text_env.get_template(f"{kind}.subject.txt")
            text = self._text_env.get_template(f"{kind}.txt")
            try:
                html: Template | None = self._html_env.get_template(f"{kind}.html")
            except TemplateNotFound:
                html = None
        except TemplateNotFound as exc:
            raise TemplateError(f"template {kind!r} is missing file {exc.name}") from exc
        except TemplateSyntaxError as exc:
            where = f"{exc.filename or exc.name}, line {exc.lineno}"
            raise TemplateError(f"template {kind!r} has a syntax error in {where}: {exc}") from exc
        self._compiled[kind] = (subject, text, html)
        return self._compiled[kind]

    def render(self, kind: str, context: Any) -> RenderedMessage:
        """Render `kind` with a context dataclass (notifications.contexts) or a dict."""
        values = context_dict(context) if dataclasses.is_dataclass(context) else dict(context)
        subject_t, text_t, html_t = self._templates(kind)
        try:
            # A subject is one header line: folding newlines away also stops header injection.
            subject = _WHITESPACE.sub(" ", subject_t.render(values)).strip()
            text = text_t.render(values)
            if html_t is not None:
                html = html_t.render(values)
            else:
                fallback = self._html_env.get_template("_from_text.html")
                html = fallback.render({**values, "subject": subject, "text": text})
        except TemplateError as exc:
            raise TemplateError(f"template {kind!r}: {exc}") from exc
        except Exception as exc:  # jinja2's UndefinedError, a filter's TypeError, …
            raise TemplateError(f"template {kind!r}: {type(exc).__name__}: {exc}") from exc
        return RenderedMessage(subject=subject, text=text, html=html)
