"""Deciding authorities per region: names, their own USCCs, and document-number styles.

Data plus pure builders. Invariants:

* every authority's USCC is valid (GB 32100; registration department 1 = 机构编制,
  category 1 = 机关, positions 3–8 = the region's division code) and depends only on the
  authority's name, so the same body has the same code in every run and every seed;
* document numbers follow the real house styles — 济市监罚〔2025〕123号, 青环罚字〔2024〕第0456号,
  鲁(潍)应急罚〔2025〕12号, (2024)鲁01执1234号 — with the year of the decision date.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

from creditx.standard.identifiers import org_code_check_char, uscc_check_char
from creditx.standard.synth.places import CITY_SHORT, DOC_ABBR


@dataclass(frozen=True)
class Authority:
    key: str  # department key, e.g. "market"
    name: str  # 济南市市场监督管理局
    uscc: str
    penalty_doc: str  # format string with {y} and {n}
    region: str
    abbr: str  # used in its document numbers: 济, 鲁01 (courts), 青 (青岛海关)


# key: (city-level name, province-level name, penalty document style with {a}=abbr)
DEPARTMENTS: dict[str, tuple[str, str, str]] = {
    "market": ("{c}市市场监督管理局", "山东省市场监督管理局", "{a}市监罚〔{y}〕{n}号"),
    "env": ("{c}市生态环境局", "山东省生态环境厅", "{a}环罚字〔{y}〕第{n:04d}号"),
    "safety": ("{c}市应急管理局", "山东省应急管理厅", "鲁({a})应急罚〔{y}〕{n}号"),
    "transport": ("{c}市交通运输局", "山东省交通运输厅", "{a}交执法罚〔{y}〕{n}号"),
    "housing": ("{c}市住房和城乡建设局", "山东省住房和城乡建设厅", "{a}建罚字〔{y}〕{n}号"),
    "health": ("{c}市卫生健康委员会", "山东省卫生健康委员会", "{a}卫医罚〔{y}〕{n}号"),
    "urban": ("{c}市城市管理局", "山东省住房和城乡建设厅", "{a}城管罚〔{y}〕{n}号"),
    "approval": ("{c}市行政审批服务局", "山东省人民政府办公厅", "{a}审批罚〔{y}〕{n}号"),
    "tax": ("国家税务总局{c}市税务局", "国家税务总局山东省税务局", "{a}税稽罚〔{y}〕{n}号"),
    "hrss": ("{c}市人力资源和社会保障局", "山东省人力资源和社会保障厅", "{a}人社监罚〔{y}〕{n}号"),
    "court": ("{c}市中级人民法院", "山东省高级人民法院", "({y}){a}执{n}号"),
    "finance": ("{c}市财政局", "山东省财政厅", "{a}财采罚〔{y}〕{n}号"),
    "civil": ("{c}市民政局", "山东省民政厅", "{a}民罚〔{y}〕{n}号"),
    "customs": ("{c}海关", "济南海关", "{a}关缉违字〔{y}〕{n}号"),
    "gov": ("{c}市人民政府", "山东省人民政府", "{a}政字〔{y}〕{n}号"),
}

# Customs districts: 青岛海关 covers the coastal cities, 济南海关 the inland ones.
_COASTAL = {"370200", "370600", "370700", "371000", "371100", "370500"}


def government_uscc(name: str, division: str) -> str:
    """A valid USCC of a government body (11 + division + organisation code), stable per name."""
    digits = f"00{zlib.crc32(name.encode('utf-8')) % 1_000_000:06d}"
    org = digits + org_code_check_char(digits)
    body = "11" + division + org
    return body + uscc_check_char(body)


def _doc_abbr(key: str, region: str) -> str:
    if key == "court":  # court codes: 鲁01 济南 … 鲁17 菏泽; the high court is plain 鲁
        return "鲁" if region == "370000" else "鲁" + region[2:4]
    if key == "customs":
        return "青" if region in _COASTAL else "济"
    return DOC_ABBR[region]


@cache
def authority(key: str, region: str) -> Authority:
    """The department ``key`` of ``region`` (a city code or 370000)."""
    city_name, province_name, doc = DEPARTMENTS[key]
    if key == "customs":
        name = "青岛海关" if region in _COASTAL else "济南海关"
        division = "370200" if region in _COASTAL else "370100"
    elif region == "370000":
        name, division = province_name, "370000"
    else:
        name, division = city_name.format(c=CITY_SHORT[region]), region
    if key == "safety" and region == "370000":
        doc = "鲁应急罚〔{y}〕{n}号"
    abbr = _doc_abbr(key, region)
    return Authority(key, name, government_uscc(name, division), doc.replace("{a}", abbr), region, abbr)


def document_number(auth: Authority, year: int, n: int) -> str:
    """The authority's decision number for the ``n``-th decision of ``year``."""
    return auth.penalty_doc.format(y=year, n=n)
