"""When each obligation's daily run fires: its deployment schedule (`deployment.cron`, by default
07:30 every day, Vietnam time; a run on a day off does nothing), so the simulation ticks on the
days production does."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.definitions.models import Obligation, RunSchedule
from engine.periods import Cron, parse_cron

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_FIRST_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class RunSlot:
    """The days a run fires and the (first) time of day it starts."""

    cron: Cron
    at: dt.time
    zone: ZoneInfo

    def fires_on(self, day: dt.date) -> bool:
        return self.cron.fires_on(day)

    def moment(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.at, tzinfo=self.zone).astimezone(dt.UTC)


def _first(field: str) -> int:
    # "30" → 30, "0,30" or "0-59/15" → 0, "*" → 0: the first run of the day is what matters.
    match = _FIRST_NUMBER.match(field)
    return int(match.group()) if match else 0


def run_slot(obligation: Obligation) -> RunSlot:
    schedule = obligation.deployment or RunSchedule()
    fields = schedule.cron.split()
    minute, hour = (_first(fields[0]), _first(fields[1])) if len(fields) == 5 else (0, 0)
    return RunSlot(parse_cron(schedule.cron), dt.time(hour, minute), ZoneInfo(schedule.timezone))
