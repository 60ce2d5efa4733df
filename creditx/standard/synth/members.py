"""The seed member registry: the 16 city platforms and the province-level node, each granted the
deciding bodies the generator uses for it (so generated records pass SEC-036).

Pure data built from :mod:`creditx.standard.synth.authorities`: every city is granted its own
departments (and the customs district covering it); the province-level node (370000) is granted
the province-level departments. A department that decides lists is granted for its list types
only (texts.LISTS); 山东省人民政府's 省长质量奖 (SZZLJ) is the province-level node's.
"""

from __future__ import annotations

from creditx.standard.divisions import CITIES, PROVINCE
from creditx.standard.registry import Grant, Member, Registry
from creditx.standard.synth.authorities import DEPARTMENTS, authority
from creditx.standard.synth.texts import LISTS


def _lists_of(dept: str, region: str) -> tuple[str, ...]:
    # 省长质量奖 is decided by the provincial government only
    return tuple(t.code for t in LISTS if t.dept == dept and (t.code != "SZZLJ" or region == PROVINCE))


def _grants(region: str) -> tuple[Grant, ...]:
    by_uscc: dict[str, Grant] = {}
    for dept in DEPARTMENTS:
        a = authority(dept, region)
        lists = _lists_of(dept, region)
        kinds: tuple[str, ...] = ("XZXK", "XZCF", "LIST") if lists else ("XZXK", "XZCF")
        old = by_uscc.get(a.uscc)
        if old is not None:  # one body under two department keys (e.g. 住建厅 for housing and urban)
            kinds = tuple(k for k in ("XZXK", "XZCF", "LIST") if k in kinds or k in old.record_types)
            lists = tuple(dict.fromkeys(old.list_types + lists))
        by_uscc[a.uscc] = Grant(a.uscc, a.name, kinds, lists)
    return tuple(by_uscc.values())


def seed_registry(issued_at: str, expires_at: str, version: int = 1) -> Registry:
    members = [Member(PROVINCE, "山东省省级部门", "province", _grants(PROVINCE))]
    members += [Member(code, f"{name}公共信用信息平台", "city", _grants(code)) for code, name in CITIES.items()]
    return Registry(version, issued_at, expires_at, tuple(members))
