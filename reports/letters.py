"""Letters and pages of the reports area, rendered with the notifications' Renderer so they share
its frame, filters and strictness (an undefined value is an error, never a blank)."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from notifications.render import Renderer
from notifications.vietnamese import FILTERS

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def renderer() -> Renderer:
    """Mail kinds of this area (press-invitation, press-followup, report-draft, report-sent)."""
    return Renderer(TEMPLATES / "mail")


@functools.cache
def pages() -> Environment:
    """Standalone HTML documents (the briefing pack)."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES / "pages")),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env
