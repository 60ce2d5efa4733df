"""The seed member registry: the 16 city platforms, the province-level node, and the
province-level departments that run a node of their own, each granted the deciding bodies the
generator uses for it (so generated records pass SEC-036).

Pure data built from :mod:`creditx.standard.synth.authorities`: every city is granted its own
departments (and the customs district covering it); the province-level node (370000) is granted
the province-level departments (the generator's and :data:`PROVINCIAL_DEPARTMENTS`; every USCC is
illustrative). A department that decides lists is granted for its list types
only (texts.LISTS); 山东省人民政府's 省长质量奖 (SZZLJ) is the province-level node's.

:data:`OWN_NODE_DEPARTMENTS` run their own node (SEC-093): each is a member of kind
``department`` whose id is its USCC, granted its own body only — and no longer the 370000
node's. They are departments the generator draws no records for, so generated 370000 data
still passes through the 370000 node.
"""

from __future__ import annotations

from creditx.standard.divisions import CITIES, PROVINCE
from creditx.standard.registry import Grant, Member, Registry
from creditx.standard.synth.authorities import DEPARTMENTS, authority, government_uscc
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


# Province-level departments that report to the exchange but for which the generator draws no
# records: granted to the 370000 node for penalties and licences, so the registry covers the
# realistic set (the departments of the 山东省 government that decide 行政许可/行政处罚). Their
# USCCs, like every USCC in the seed, are ILLUSTRATIVE — valid under GB 32100 and stable per name
# (authorities.government_uscc), not the bodies' registered codes, which the operator enters with
# `creditx gateway members grant`.
PROVINCIAL_DEPARTMENTS: tuple[str, ...] = (
    "山东省发展和改革委员会",
    "山东省教育厅",
    "山东省科学技术厅",
    "山东省工业和信息化厅",
    "山东省公安厅",
    "山东省司法厅",
    "山东省自然资源厅",
    "山东省水利厅",
    "山东省农业农村厅",
    "山东省海洋局",
    "山东省商务厅",
    "山东省文化和旅游厅",
    "山东省退役军人事务厅",
    "山东省审计厅",
    "山东省体育局",
    "山东省统计局",
    "山东省医疗保障局",
    "山东省粮食和物资储备局",
    "山东省能源局",
    "山东省畜牧兽医局",
    "山东省药品监督管理局",
    "山东省地方金融管理局",
    "山东省通信管理局",
    "山东省气象局",
    "中国人民银行山东省分行",
    "国家金融监督管理总局山东监管局",
    "中国证券监督管理委员会山东监管局",
)


# Province-level departments with a node of their own (a member each, SEC-093).
OWN_NODE_DEPARTMENTS: tuple[str, ...] = (
    "山东省公安厅",
    "山东省自然资源厅",
    "山东省文化和旅游厅",
    "山东省医疗保障局",
    "山东省药品监督管理局",
)


def department_uscc(name: str) -> str:
    """The (illustrative) USCC of a province-level department: its member id and its body's code."""
    return government_uscc(name, PROVINCE)


def _provincial_only() -> tuple[Grant, ...]:
    return tuple(
        Grant(department_uscc(n), n, ("XZXK", "XZCF")) for n in PROVINCIAL_DEPARTMENTS if n not in OWN_NODE_DEPARTMENTS
    )


def department_member(name: str) -> Member:
    """A province-level department's own node: member id and its one grant, its own body."""
    uscc = department_uscc(name)
    return Member(PROVINCE, name, "department", (Grant(uscc, name, ("XZXK", "XZCF")),), id=uscc)


def seed_registry(issued_at: str, expires_at: str, version: int = 1) -> Registry:
    members = [Member(PROVINCE, "山东省省级部门", "province", _grants(PROVINCE) + _provincial_only())]
    members += [department_member(n) for n in OWN_NODE_DEPARTMENTS]
    members += [Member(code, f"{name}公共信用信息平台", "city", _grants(code)) for code, name in CITIES.items()]
    return Registry(version, issued_at, expires_at, tuple(members))
