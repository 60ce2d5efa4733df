"""Test vectors for chapters 01 (records) and 02 (identifiers): ``build(today)``.

Returns ``{"identifiers.json": [...], "validation.json": [...]}`` for the runner
(``creditx/standard/vectors/generate.py``), which writes them. Every case states the verdict it is
meant to have; ``build`` recomputes it with the reference code and raises if they differ, so a
rule change cannot silently rewrite the vectors. Pure: the only date is ``today``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from creditx.standard.identifiers import check_any
from creditx.standard.validation import validate_fields

# (code, kind, valid, reason) — real published codes first, then hand-made invalid ones.
IDENTIFIERS = [
    ("914403001922038216", "uscc", True, ""),
    ("9144030071526726XG", "uscc", True, ""),
    ("91370781MA3DKU6R4Q", "uscc", True, ""),
    ("91370502MA3RBA290K", "uscc", True, ""),
    ("92141127MA0KD1Y64A", "uscc", True, ""),
    ("12100000470095016Q", "uscc", True, ""),
    ("12440600MB2C07549J", "uscc", True, ""),
    ("51310110501144395U", "uscc", True, ""),
    ("53100000500019795A", "uscc", True, ""),
    ("91350203M0001FUE2P", "uscc", True, ""),  # Xiamen pilot code, valid with warning REC-ID-06
    ("９１３７０７８１ＭＡ３ＤＫＵ６Ｒ４Ｑ", "uscc", True, ""),  # full-width input
    ("91370781MA3DKU6R4P", "uscc", False, "USCC_CHECKSUM"),
    ("91370718MA3DKU6R4Q", "uscc", False, "USCC_CHECKSUM"),
    ("91370000MA3D3M001X", "uscc", False, "USCC_ORG_CHECKSUM"),
    ("91370781MAODKU6R4Q", "uscc", False, "USCC_CHARSET"),
    ("00000000000000000X", "uscc", False, "USCC_PLACEHOLDER"),
    ("D2143569X", "org_code", True, ""),
    ("MA3DKU6R-4", "org_code", True, ""),
    ("D21435691", "org_code", False, "ORG_CHECKSUM"),
    ("11010519491231002X", "id_card", True, ""),
    ("110105491231002", "id_card", True, ""),
    ("110105194912310021", "id_card", False, "ID_CHECKSUM"),
    ("12345", "unknown", False, "ID_UNKNOWN_KIND"),
]

AUTH = "11370500004273161F"
SUBJECT = "91370502MA3RBA290K"


def _bases(today: dt.date) -> dict[str, dict[str, str]]:
    d = (today - dt.timedelta(days=30)).isoformat()
    until = (today + dt.timedelta(days=3 * 365)).isoformat()
    return {
        "XZXK": {
            "XK_XDR_MC": "山东星际云科技发展有限公司",
            "XK_XDR_LB": "法人及非法人组织",
            "XK_XDR_SHXYM": SUBJECT,
            "XK_FRDB": "王某某",
            "XK_XKWS": "食品经营许可决定书",
            "XK_WSH": "东市监食许〔2025〕15号",
            "XK_XKLB": "普通",
            "XK_NR": "食品经营许可",
            "XK_JDRQ": d,
            "XK_YXQZ": d,
            "XK_YXQZI": until,
            "XK_XKJG": "东营市市场监督管理局",
            "XK_XKJGDM": AUTH,
            "XK_ZT": "1",
            "XK_LYDW": "东营市市场监督管理局",
            "XK_LYDWDM": AUTH,
        },
        "XZCF": {
            "CF_XDR_MC": "山东星际云科技发展有限公司",
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": SUBJECT,
            "CF_FRDB": "王某某",
            "CF_WSH": "东市监罚〔2025〕7号",
            "CF_WFXW": "未按规定公示年度报告",
            "CF_SY": "逾期未公示",
            "CF_YJ": "《企业信息公示暂行条例》第十八条",
            "CF_CFLB": "警告;罚款",
            "CF_NR": "警告并处罚款2000元",
            "CF_NR_FK": "0.2",
            "CF_JDRQ": d,
            "CF_YXQ": until,
            "CF_CFJG": "东营市市场监督管理局",
            "CF_CFJGDM": AUTH,
            "CF_SJLY": "东营市市场监督管理局",
            "CF_SJLYDM": AUTH,
        },
        "LIST": {
            "MD_LX": "SCJGYZWF",
            "MD_ZT_MC": "山东星际云科技发展有限公司",
            "MD_ZT_LB": "法人及非法人组织",
            "MD_ZT_SHXYM": SUBJECT,
            "MD_FRDB": "王某某",
            "MD_LRRQ": d,
            "MD_LRYY": "提交虚假材料取得登记",
            "MD_RDYJ": "《市场监督管理严重违法失信名单管理办法》第九条",
            "MD_RDWS": "决定书",
            "MD_RDWSH": "东市监列〔2025〕1号",
            "MD_RDJG": "东营市市场监督管理局",
            "MD_RDJGDM": AUTH,
            "MD_GLQX_Q": d,
            # within SCJGYZWF's 36-month term (SEC-046): a valid entry is valid at the gateway too
            "MD_GLQX_Z": (today + dt.timedelta(days=2 * 365)).isoformat(),
            "MD_SJLY": "东营市市场监督管理局",
            "MD_SJLYDM": AUTH,
        },
    }


def _cases(today: dt.date) -> list[tuple[str, str, dict[str, str], list[tuple[str, str, str]]]]:
    """(name, type, change to the base record, expected [(field, rule, reason)])."""
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    return [
        ("xzxk-valid", "XZXK", {}, []),
        ("xzcf-valid", "XZCF", {}, []),
        ("list-valid", "LIST", {}, []),
        ("xzxk-missing-document-number", "XZXK", {"XK_WSH": ""}, [("XK_WSH", "REC-020", "REQUIRED_MISSING")]),
        ("xzxk-name-too-long", "XZXK", {"XK_XDR_MC": "名" * 201}, [("XK_XDR_MC", "REC-021", "TOO_LONG")]),
        ("xzxk-bad-category", "XZXK", {"XK_XKLB": "许可"}, [("XK_XKLB", "REC-022", "ENUM_INVALID")]),
        (
            "xzxk-slash-date",
            "XZXK",
            {"XK_XKJGDM": AUTH, "XK_JDRQ": "2025/01/01"},
            [("XK_JDRQ", "REC-023", "DATE_INVALID")],
        ),
        (
            "xzxk-decision-tomorrow",
            "XZXK",
            {"XK_JDRQ": tomorrow, "XK_YXQZ": tomorrow},
            [("XK_JDRQ", "REC-027", "DATE_IN_FUTURE")],
        ),
        (
            "xzxk-authority-checksum",
            "XZXK",
            {"XK_XKJGDM": AUTH[:-1] + "G"},
            [("XK_XKJGDM", "REC-ID-02", "USCC_CHECKSUM")],
        ),
        (
            "xzxk-legal-person-without-representative",
            "XZXK",
            {"XK_FRDB": ""},
            [("XK_FRDB", "REC-030", "CONDITIONAL_MISSING")],
        ),
        (
            "xzxk-individual-placeholder-without-registration",
            "XZXK",
            {"XK_XDR_LB": "个体工商户", "XK_FRDB": "", "XK_XDR_SHXYM": "00000000000000000X"},
            [("XK_XDR_GSZC", "REC-031", "CONDITIONAL_MISSING")],
        ),
        (
            "xzxk-natural-person-bad-id",
            "XZXK",
            {
                "XK_XDR_LB": "自然人",
                "XK_FRDB": "",
                "XK_XDR_SHXYM": "",
                "XK_XDR_ZJLX": "身份证",
                "XK_XDR_ZJHM": "110105194912310021",
            },
            [("XK_XDR_ZJHM", "REC-ID-23", "ID_CHECKSUM")],
        ),
        ("xzxk-other-without-note", "XZXK", {"XK_XKLB": "其他"}, [("BZ", "REC-045", "NOTE_MISSING")]),
        ("xzcf-fine-missing", "XZCF", {"CF_NR_FK": ""}, [("CF_NR_FK", "REC-040", "CONDITIONAL_MISSING")]),
        ("xzcf-fine-not-a-number", "XZCF", {"CF_NR_FK": "2千元"}, [("CF_NR_FK", "REC-025", "AMOUNT_INVALID")]),
        ("xzcf-fine-in-yuan-warning", "XZCF", {"CF_NR_FK": "20000"}, [("CF_NR_FK", "REC-041", "AMOUNT_LIKELY_YUAN")]),
        (
            "xzcf-confiscation-amount-missing",
            "XZCF",
            {"CF_CFLB": "没收违法所得"},
            [("CF_NR_WFFF", "REC-042", "CONDITIONAL_MISSING")],
        ),
        (
            "xzcf-revocation-licence-missing",
            "XZCF",
            {"CF_CFLB": "吊销许可证件"},
            [("CF_NR_ZKDX", "REC-043", "CONDITIONAL_MISSING")],
        ),
        ("list-unknown-type", "LIST", {"MD_LX": "HMD"}, [("MD_LX", "REC-050", "LIST_TYPE_UNKNOWN")]),
        ("list-period-reversed", "LIST", {"MD_GLQX_Z": "2000-01-01"}, [("MD_GLQX_Z", "REC-051", "DATE_ORDER")]),
        (
            "list-removal-incomplete",
            "LIST",
            {"MD_YCRQ": (today - dt.timedelta(days=1)).isoformat()},
            [("MD_YCJG", "REC-052", "REMOVAL_INCOMPLETE"), ("MD_YCYY", "REC-052", "REMOVAL_INCOMPLETE")],
        ),
        (
            "list-removal-bad-reason",
            "LIST",
            {
                "MD_YCRQ": (today - dt.timedelta(days=1)).isoformat(),
                "MD_YCYY": "改正",
                "MD_YCJG": "东营市市场监督管理局",
            },
            [("MD_YCYY", "REC-053", "ENUM_INVALID")],
        ),
    ]


def build(today: dt.date) -> dict[str, Any]:
    ids = []
    for code, kind, valid, reason in IDENTIFIERS:
        got = check_any(code, today=today)
        if (got.kind, got.valid, got.reason) != (kind, valid, reason):
            raise AssertionError(
                f"identifier vector {code}: expected {(kind, valid, reason)}, got {(got.kind, got.valid, got.reason)}"
            )
        ids.append(
            {
                "code": code,
                "kind": kind,
                "valid": valid,
                "reason": reason,
                "rule": got.rule,
                "warnings": list(got.warnings),
            }
        )
    bases = _bases(today)
    records = []
    for name, rtype, change, expected in _cases(today):
        fields = {k: v for k, v in {**bases[rtype], **change}.items() if v}
        found = sorted((v.field, v.rule, v.reason, v.severity) for v in validate_fields(rtype, fields, today=today))
        if [g[:3] for g in found] != sorted(expected):
            raise AssertionError(f"validation vector {name}: expected {sorted(expected)}, got {found}")
        records.append(
            {
                "name": name,
                "type": rtype,
                "today": today.isoformat(),
                "fields": fields,
                "violations": [{"field": f, "rule": r, "reason": c, "severity": s} for f, r, c, s in found],
            }
        )
    return {"identifiers.json": ids, "validation.json": records}
