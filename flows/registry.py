"""Which Prefect flow runs an obligation (`flow:` in its YAML), imported only when needed."""

from __future__ import annotations

import importlib

from prefect import Flow

FLOWS = {
    "collect": "flows.collect:collect",
    "press-briefing": "flows.press_briefing:press_briefing",
    "consolidation": "flows.consolidation:consolidation",
}


def flow_for(name: str) -> Flow:
    module, attribute = FLOWS[name].split(":")
    return getattr(importlib.import_module(module), attribute)
