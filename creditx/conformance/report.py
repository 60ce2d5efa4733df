"""The conformance report: human text, JSON (``--json``) and JUnit XML (``--junit FILE``).

Exit status (CONF-004): 0 when every applicable MUST check passed, 1 otherwise. NOT_COVERED
checks are listed and counted, never passed; they do not decide the exit status, because the
report states the exact set of requirements it certifies.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditx.conformance.checks import Check, Level, Result, Status

REPORT_FORMAT = "creditx-conformance-report/1"
SUITE_VERSION = "1.3"  # 1.1: list replica, ack outcomes, region at import, the identity table of every service;
# 1.2: the batch-signed suite (GW-BATCH-SUITE, GW-BATCH-FORK), every record vector judged;
# 1.3: a gateway's list distribution (GW-DIST-SUBSCRIBE, GW-DIST-SNAPSHOT) and what standard 1.4
# added to it (GW-DIST-COMPRESSED, GW-DIST-SNAPSHOT-NO-ORIGINS)


@dataclass
class CheckOutcome:
    check: Check
    result: Result
    duration_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(
            self.check.as_dict(),
            status=self.result.status.value,
            detail=self.result.detail,
            evidence=[e.as_dict() for e in self.result.evidence],
            duration_ms=round(self.duration_s * 1000),
        )


@dataclass
class Report:
    suite: str  # "node" or "gateway"
    subject: dict[str, str]  # what was tested: vendor, commands, address
    started: datetime
    finished: datetime
    outcomes: list[CheckOutcome]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for o in self.outcomes:
            out[o.result.status.value] += 1
        return out

    def must_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.check.level is Level.MUST and o.result.status is Status.FAIL]

    def conformant(self) -> bool:
        return not self.must_failures()

    def exit_code(self) -> int:
        return 0 if self.conformant() else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "suite_version": SUITE_VERSION,
            "suite": self.suite,
            "subject": dict(self.subject),
            "started": _stamp(self.started),
            "finished": _stamp(self.finished),
            "verdict": "CONFORMANT" if self.conformant() else "NOT CONFORMANT",
            "counts": self.counts(),
            "certified_requirements": sorted(
                {r for o in self.outcomes if o.result.status is Status.PASS for r in o.check.requirements}
            ),
            "not_covered_requirements": sorted(
                {r for o in self.outcomes if o.result.status is Status.NOT_COVERED for r in o.check.requirements}
            ),
            "checks": [o.as_dict() for o in self.outcomes],
        }


def _stamp(t: datetime) -> str:
    from creditx.standard.timestamps import rfc3339

    return rfc3339(t)


def to_text(report: dict[str, Any], *, verbose: bool = False) -> str:
    """A report (as from :meth:`Report.as_dict`) for people: one line per check, evidence of failures."""
    lines = [
        f"creditx conformance {report['suite']} — suite {report['suite_version']}",
        "subject: " + ", ".join(f"{k}={v}" for k, v in sorted(report["subject"].items())),
        f"run: {report['started']} … {report['finished']}",
        "",
    ]
    for c in report["checks"]:
        mark = {"pass": "PASS", "fail": "FAIL", "not_applicable": "N/A ", "not_covered": "TODO"}[c["status"]]
        lines.append(f"{mark} {c['level']:<6} {c['id']:<28} {', '.join(c['requirements']):<22} {c['title']}")
        if c["detail"] and (c["status"] != "pass" or verbose):
            lines.append(f"       {c['detail']}")
        if c["status"] == "fail" or verbose:
            for e in c["evidence"]:
                lines.append(f"       sent:     {e['sent']}")
                lines.append(f"       received: {e['received']}")
    n = report["counts"]
    lines += [
        "",
        f"{n['pass']} passed, {n['fail']} failed, {n['not_applicable']} not applicable, "
        f"{n['not_covered']} not yet covered by this suite",
        f"verdict: {report['verdict']}"
        + (" (for the requirements this suite covers)" if report["verdict"] == "CONFORMANT" else ""),
    ]
    return "\n".join(lines) + "\n"


def to_junit(report: dict[str, Any]) -> bytes:
    """JUnit XML: one testcase per check; FAIL → <failure>, N/A and NOT_COVERED → <skipped>."""
    n = report["counts"]
    suite = ET.Element(
        "testsuite",
        name=f"creditx-conformance-{report['suite']}",
        tests=str(len(report["checks"])),
        failures=str(n["fail"]),
        errors="0",
        skipped=str(n["not_applicable"] + n["not_covered"]),
        time=f"{sum(c['duration_ms'] for c in report['checks']) / 1000:.3f}",
        timestamp=report["started"],
    )
    for c in report["checks"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{report['suite']}.ch{c['chapter']}",
            name=f"{c['id']} [{' '.join(c['requirements'])}] {c['level']}",
            time=f"{c['duration_ms'] / 1000:.3f}",
        )
        evidence = "\n".join(f"sent: {e['sent']}\nreceived: {e['received']}" for e in c["evidence"])
        if c["status"] == "fail":
            f = ET.SubElement(case, "failure", message=c["detail"][:500], type=c["level"])
            f.text = evidence
        elif c["status"] in ("not_applicable", "not_covered"):
            ET.SubElement(case, "skipped", message=f"{c['status']}: {c['detail']}"[:500])
        if evidence and c["status"] != "fail":
            ET.SubElement(case, "system-out").text = evidence
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
