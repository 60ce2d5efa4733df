"""The credit report (信用报告) of one subject, from the node's own records and its list replica,
as a printable HTML document in Chinese with a verification code (HALL-050 … HALL-053).

* HALL-050 the report's content is a JSON object (list entries, removed entries, own penalties
  and licences with 异议 status, replica freshness, time, node); ID numbers only masked.
* HALL-051 the verification code is the node's record-signing key's signature over the RFC 8785
  bytes of the content (envelope PAE, payload type ``application/vnd.creditx.credit-report+json;v=1``),
  written as base32 in groups of four; the content, the signature and the node's signing
  certificate are embedded in the HTML.
* HALL-052 the HTML is a pure function of (content, signature, certificate): ``verify-report``
  renders it again from what is embedded and requires the same bytes, so the visible text is
  exactly the signed content; then it checks the certificate (provincial CA, role node-signing,
  the report's region, valid at the report's time) and the signature.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from creditx.pki.identity import IdentityError, TrustStore, verify
from creditx.pki.profiles import NODE_SIGNING
from creditx.standard.canonical import canonicalize
from creditx.standard.catalogue import load_catalogue
from creditx.standard.envelope import Envelope, Signature, SignatureError, Signer, pae, verify_envelope
from creditx.standard.errors import InputError

REPORT_PAYLOAD_TYPE = "application/vnd.creditx.credit-report+json;v=1"
_EMBED = re.compile(r'<script type="application/json" id="creditx-report">(.*?)</script>', re.S)
_TYPE_ZH = {"XZCF": "行政处罚", "XZXK": "行政许可"}
_COLOUR_ZH = {"black": "黑名单", "red": "红名单"}


def _entry(e) -> dict[str, str]:
    lt = load_catalogue().list_type(e.list_type)
    return {
        "list_type": e.list_type,
        "list_name": lt.name_zh if lt else e.list_type,
        "colour": e.colour,
        "name": e.subject_name,
        "uscc": e.subject_uscc,
        "id_masked": e.subject_id_masked,
        "listed_on": e.listed_on.isoformat() if e.listed_on else "",
        "period_end": e.period_end.isoformat() if e.period_end else "",
        "reason": e.listing_reason,
        "authority": e.authority,
        "document": e.basis_number,
        "measures": e.measures,
        "removed_on": e.removed_on.isoformat() if e.removed_on else "",
        "removal_reason": e.removal_reason,
    }


def _record(r) -> dict[str, str]:
    f, p = r.fields, ("CF_" if r.type == "XZCF" else "XK_")
    return {
        "type": r.type,
        "source_id": r.source_id,
        "document": f.get(p + "WSH", ""),
        "title": f.get("CF_CFLB", "") if r.type == "XZCF" else f.get("XK_XKWS", ""),
        "content": f.get(p + "NR", ""),
        "decided_on": f.get(p + "JDRQ", ""),
        "authority": f.get("CF_CFJG" if r.type == "XZCF" else "XK_XKJG", ""),
        "objection": r.objection,
    }


def report_content(halls, q, *, node_name: str, at: datetime) -> dict[str, Any]:
    """HALL-050: the content of the report about the subject of question ``q``."""
    from creditx.node.replica.departments import check as replica_check

    a = replica_check(halls.replica, q, now=at, max_age=halls.max_age)
    records = halls.store.own_records(q.key)
    names = [e.subject_name for e in a.memberships + a.history] + [
        r.fields.get("CF_XDR_MC") or r.fields.get("XK_XDR_MC", "") for r in records
    ]
    return {
        "v": 1,
        "node": halls.region,
        "node_name": node_name,
        "generated_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": {"shown": q.shown, "kind": q.kind, "name": next((n for n in names if n), "")},
        "lists": [_entry(e) for e in a.memberships],
        "history": [_entry(e) for e in a.history],
        "records": [_record(r) for r in records],
        "replica": {
            "applied_list_seq": a.applied_list_seq,
            "stale": a.stale,
            "last_update": a.last_update.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if a.last_update else "",
        },
        "measures_version": halls.measures().version,
    }


def verification_code(sig: bytes) -> str:
    text = base64.b32encode(sig).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class SignedReport:
    content: Mapping[str, Any]
    signature: Signature
    cert_pem: str


def sign_report(content: Mapping[str, Any], signer: Signer, cert_pem: str) -> SignedReport:
    sig = signer.sign(pae(REPORT_PAYLOAD_TYPE, canonicalize(dict(content))))
    return SignedReport(content, sig, cert_pem)


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="none">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", sans-serif; color: #111;
       width: 178mm; margin: 0 auto; font-size: 10.5pt; line-height: 1.5; background: #fff; }
h1 { text-align: center; font-size: 20pt; letter-spacing: 0.4em; margin: 8mm 0 2mm; }
.sub { text-align: center; color: #444; margin-bottom: 6mm; }
h2 { font-size: 12.5pt; border-left: 4px solid #8b0000; padding-left: 6px; margin: 6mm 0 2mm; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin-bottom: 2mm; }
th, td { border: 1px solid #888; padding: 3px 5px; vertical-align: top; word-break: break-all; }
th { background: #f0f0f0; font-weight: 600; }
.kv th { width: 28%; text-align: left; }
.none { color: #555; margin: 1mm 0 3mm; }
.black { color: #8b0000; font-weight: 600; }
.code { font-family: "Noto Sans Mono CJK SC", monospace; font-size: 9.5pt; letter-spacing: 0.05em;
        border: 1px dashed #666; padding: 3mm; background: #fafafa; }
.foot { color: #444; font-size: 9pt; margin-top: 5mm; }
"""


def render_html(report: SignedReport) -> str:
    """HALL-052: the document, deterministically from (content, signature, certificate)."""
    c = report.content
    s = c["subject"]
    kind_zh = {"uscc": "统一社会信用代码", "registration_number": "工商注册号", "person": "证件号码（已脱敏）"}[
        s["kind"]
    ]
    r = c["replica"]
    summary = [
        ["主体名称", s["name"] or "（未记载）"],
        [kind_zh, s["shown"]],
        ["报告生成时间（UTC）", c["generated_at"]],
        ["出具节点", f"{c['node_name']}（{c['node']}）"],
        [
            "名单数据截至",
            f"名单日志序号 {r['applied_list_seq']}，最近同步 {r['last_update'] or '无'}"
            + ("（数据已过期，仅供参考）" if r["stale"] else ""),
        ],
        ["措施清单版本", c["measures_version"]],
    ]
    kv = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary)
    lists = _table(
        ["名单", "列入日期", "管理期限至", "列入原因", "认定机关", "文书号"],
        [
            [
                f"{_COLOUR_ZH.get(e['colour'], e['colour'])}：{e['list_name']}（{e['list_type']}）",
                e["listed_on"],
                e["period_end"] or "按名单规定期限",
                e["reason"],
                e["authority"],
                e["document"],
            ]
            for e in c["lists"]
        ],
        "未发现该主体被列入红黑名单。",
    )
    history = _table(
        ["名单", "列入日期", "移出日期", "移出原因", "认定机关"],
        [
            [
                f"{e['list_name']}（{e['list_type']}）",
                e["listed_on"],
                e["removed_on"],
                e["removal_reason"],
                e["authority"],
            ]
            for e in c["history"]
        ],
        "无历史名单记录。",
    )
    records = _table(
        ["类别", "决定文书号", "类别/名称", "决定日期", "决定机关", "内容", "异议状态"],
        [
            [
                _TYPE_ZH.get(x["type"], x["type"]),
                x["document"],
                x["title"],
                x["decided_on"],
                x["authority"],
                x["content"],
                x["objection"] or "无",
            ]
            for x in c["records"]
        ],
        "本节点未记载该主体的行政处罚、行政许可信息。",
    )
    embedded = json.dumps(
        {
            "content": c,
            "signature": {
                "keyid": report.signature.keyid,
                "suite": report.signature.suite,
                "sig": base64.b64encode(report.signature.sig).decode(),
            },
            "certificate": report.cert_pem,
        },
        ensure_ascii=False,
        sort_keys=True,
    ).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>信用报告</title>'
        f"<style>{_CSS}</style></head><body>\n"
        "<h1>信用报告</h1>"
        f'<div class="sub">公共信用信息 · {_e(c["node_name"])} 出具</div>\n'
        f'<h2>一、主体基本信息</h2><table class="kv">{kv}</table>\n'
        f"<h2>二、现列入的红黑名单</h2>{lists}\n"
        f"<h2>三、历史名单记录</h2>{history}\n"
        f"<h2>四、本节点记载的行政处罚与行政许可</h2>{records}\n"
        "<h2>五、验证码</h2>"
        f'<div class="code">{_e(verification_code(report.signature.sig))}</div>'
        '<p class="foot">本报告由出具节点的签名证书签名。验证：creditx node verify-report 报告文件。'
        "证件号码已脱敏；报告内容以出具时节点所存数据为准。</p>\n"
        f'<script type="application/json" id="creditx-report">{embedded}</script>\n'
        "</body></html>\n"
    )


@dataclass(frozen=True)
class Verified:
    content: Mapping[str, Any]
    signer: str  # holder name of the node signing certificate
    region: str
    code: str


def verify_report(document: str, trust: TrustStore) -> Verified:
    """HALL-052: InputError unless ``document`` is exactly a report this function's renderer
    makes from its embedded content, signed by a node-signing certificate of the report's region."""
    m = _EMBED.search(document)
    if m is None:
        raise InputError("not a creditx credit report: no embedded report data [HALL-052]")
    try:
        obj = json.loads(m.group(1).replace("<\\/", "</"))
        sig = Signature(obj["signature"]["keyid"], obj["signature"]["suite"], base64.b64decode(obj["signature"]["sig"]))
        report = SignedReport(obj["content"], sig, obj["certificate"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the embedded report data is damaged: {exc} [HALL-052]") from None
    if render_html(report) != document:
        raise InputError(
            "the report text differs from its signed content: the file was changed [HALL-052]",
            hint="ask the node for a new report",
        )
    content = report.content
    try:
        at = datetime.fromisoformat(str(content["generated_at"]).replace("Z", "+00:00"))
        who = verify(report.cert_pem.encode(), trust, at=at, roles=(NODE_SIGNING,))
    except IdentityError as exc:
        raise InputError(f"the report's signing certificate: {exc.message} [HALL-052]") from None
    except (KeyError, ValueError) as exc:
        raise InputError(f"the report has no valid generated_at: {exc} [HALL-052]") from None
    if who.region != content.get("node"):
        raise InputError(
            f"the report names node region {content.get('node')} but is signed for {who.region} [HALL-052]"
        )
    env = Envelope(REPORT_PAYLOAD_TYPE, canonicalize(dict(content)), (sig,))
    try:
        verify_envelope(
            env,
            lambda kid: who.certificate.public_key() if kid == who.key_id else None,
            expected_type=REPORT_PAYLOAD_TYPE,
        )
    except SignatureError as exc:
        raise InputError(f"the verification code does not verify: {exc.message} [HALL-051]") from None
    return Verified(content, who.name, who.region or "", verification_code(sig.sig))


def cert_pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()
