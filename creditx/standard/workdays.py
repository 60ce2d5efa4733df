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
        """Working days d with start < d <= end (0 when end <= start); at most ``cap``."""
        n, day = 0, start
        while day < end and n < cap:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return n


def parse_calendar(data: dict) -> HolidayCalendar:
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
