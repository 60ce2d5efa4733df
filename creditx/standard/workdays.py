"""Working days in the People's Republic of China, from the State Council holiday notices kept
as data (``calendar/cn-public-holidays.json``): a day is a working day when it is Monday to
Friday and not a public holiday, or when it is a make-up working day (调休上班).

Used for the 7-working-day rule of 双公示 reporting: :func:`working_days_between` counts the
working days after the decision day up to and including the day of receipt, so a record
received on the next working day took 1. Years the data does not cover are counted Monday to
Friday and reported as estimated (:func:`covered`). Pure: the data is read once from the
package.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    years: frozenset[int]

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def covered(self, day: dt.date) -> bool:
        return day.year in self.years

    def working_days_between(self, start: dt.date, end: dt.date, *, cap: int = 366) -> int:
        """Working days d with start < d <= end (0 when end <= start); at most ``cap``.
        Constant time inside the indexed span (the calendar's years ± 30), a walk outside it."""
        if end <= start:
            return 0
        base, counts = self._index()
        i, j = start.toordinal() - base, end.toordinal() - base
        if 0 <= i < len(counts) and 0 <= j < len(counts):
            return min(counts[j] - counts[i], cap)
        n, day = 0, start
        while day < end and n < cap:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return n

    def _index(self) -> tuple[int, list[int]]:
        """(ordinal of the first day, working days from it up to and including each day)."""
        cached = self.__dict__.get("_idx")
        if cached is None:
            lo = dt.date(min(self.years, default=2000) - 30, 1, 1)
            hi = dt.date(max(self.years, default=2000) + 30, 12, 31)
            counts, n, day = [], 0, lo
            while day <= hi:
                n += self.is_working_day(day)
                counts.append(n)
                day += dt.timedelta(days=1)
            cached = (lo.toordinal(), counts)
            object.__setattr__(self, "_idx", cached)  # frozen dataclass: a cache, not state
        return cached


def parse_calendar(data: dict[str, Any]) -> HolidayCalendar:
    hol: set[dt.date] = set()
    work: set[dt.date] = set()
    for year, entry in data["years"].items():
        for s in entry["holidays"]:
            hol.add(dt.date.fromisoformat(s))
        for s in entry["workdays"]:
            work.add(dt.date.fromisoformat(s))
        if any(d.year != int(year) for d in map(dt.date.fromisoformat, entry["holidays"] + entry["workdays"])):
            raise ValueError(f"calendar {year}: a date of another year is listed")
    if hol & work:
        raise ValueError(f"calendar: {min(hol & work)} is both a holiday and a working day")
    return HolidayCalendar(frozenset(hol), frozenset(work), frozenset(int(y) for y in data["years"]))


@lru_cache(maxsize=1)
def china_calendar() -> HolidayCalendar:
    text = files("creditx.standard").joinpath("calendar/cn-public-holidays.json").read_text("utf-8")
    return parse_calendar(json.loads(text))
