"""GB/T 2260 division codes for Shandong, as the exchange standard uses them (REC-ID-030…).

A node's region is a six-digit division code: a city (3701xx … 3717xx prefix ``37NN00``)
or the province itself (370000) for province-level departments. Laiwu (371200) was merged
into Jinan in 2019; its code stays a *historical alias* so old records and USCCs that carry
it remain valid, but no node is issued for it.
"""

from __future__ import annotations

PROVINCE = "370000"

CITIES: dict[str, str] = {
    "370100": "济南市",
    "370200": "青岛市",
    "370300": "淄博市",
    "370400": "枣庄市",
    "370500": "东营市",
    "370600": "烟台市",
    "370700": "潍坊市",
    "370800": "济宁市",
    "370900": "泰安市",
    "371000": "威海市",
    "371100": "日照市",
    "371300": "临沂市",
    "371400": "德州市",
    "371500": "聊城市",
    "371600": "滨州市",
    "371700": "菏泽市",
}

# Historical codes: code -> (name, the code that now covers it).
HISTORICAL: dict[str, tuple[str, str]] = {
    "371200": ("莱芜市", "370100"),
    "371202": ("莱城区", "370116"),
    "371203": ("钢城区", "370117"),
}

# Jinan districts that took over Laiwu in 2019.
LAIWU_SUCCESSORS: dict[str, str] = {"370116": "莱芜区", "370117": "钢城区"}

REGIONS: dict[str, str] = {PROVINCE: "山东省", **CITIES}


def is_region(code: str) -> bool:
    """True for a code a node may be issued for: the province or one of its 16 cities."""
    return code in REGIONS


def region_name(code: str) -> str:
    if code in REGIONS:
        return REGIONS[code]
    if code in HISTORICAL:
        return HISTORICAL[code][0]
    raise KeyError(code)


def city_of(division: str) -> str | None:
    """The current city code that covers a six-digit county/city division code, or None.

    ``370116`` → ``370100``; the Laiwu alias ``3712xx`` → ``370100``; ``370000`` → None.
    """
    if len(division) != 6 or not division.isdigit() or not division.startswith("37"):
        return None
    city = division[:4] + "00"
    if city == "371200":
        return "370100"
    return city if city in CITIES else None


def is_shandong_division(division: str) -> bool:
    """A syntactically plausible Shandong division code (province, city, or county level)."""
    return division == PROVINCE or city_of(division) is not None
