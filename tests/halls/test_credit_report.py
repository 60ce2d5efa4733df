"""The credit report (信用报告): rendered as a person would see it (headless Chromium → PNG, looked
at), its verification code checks, and any change to the file is caught (HALL-050 … HALL-052)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC

from PIL import Image, ImageStat

from creditx.node.halls.render import to_png
from tests.halls.conftest import DEBTOR, PERSON
from tests.node.test_cli_app import creditx


def _text(doc: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", doc, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_report_renders_and_verifies(hall, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert creditx("credit-report", DEBTOR, "--dir", hall.node_dir, "-o", out, "--pdf", tmp_path / "r.pdf") == 0
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    doc = out.read_text(encoding="utf-8")
    text = _text(doc)
    for expected in (
        "信用报告",
        "主体基本信息",
        DEBTOR,
        "黑名单：失信被执行人（SXBZXR）",
        "行政处罚",
        "验证码",
        "（370100）",
    ):
        assert expected in text, expected
    capsys.readouterr()
    # a hall holding only the CA certificate verifies it
    assert creditx("verify-report", out, "--ca", hall.cz.ca, "--json") == 0
    v = json.loads(capsys.readouterr().out)
    assert (
        v["valid"]
        and v["node"] == "370100"
        and v["subject"] == DEBTOR
        and v["code"].replace(" ", "") in text.replace(" ", "")
    )

    png = to_png(out, tmp_path / "report.png")
    img = Image.open(png).convert("L")
    assert img.size[0] >= 700 and img.size[1] >= 1000
    stat = ImageStat.Stat(img)
    assert stat.extrema[0][0] < 60 and stat.stddev[0] > 10  # dark text on a white page, not blank
    top = img.crop((0, 0, img.size[0], 120))
    assert ImageStat.Stat(top).extrema[0][0] < 60  # the title is drawn at the top


def test_changed_report_fails_verification(hall, tmp_path):
    out = tmp_path / "report.html"
    assert creditx("credit-report", DEBTOR, "--dir", hall.node_dir, "-o", out) == 0
    doc = out.read_text(encoding="utf-8")
    visible = tmp_path / "visible.html"
    visible.write_text(doc.replace("黑名单：失信被执行人", "红名单：失信被执行人", 1), encoding="utf-8")
    assert creditx("verify-report", visible, "--ca", hall.cz.ca) == 2
    m = re.search(r'"listed_on": "(\d{4})', doc)
    assert m is not None
    embedded = tmp_path / "embedded.html"
    embedded.write_text(doc.replace(m.group(0), m.group(0)[:-4] + "1999"), encoding="utf-8")
    assert creditx("verify-report", embedded, "--ca", hall.cz.ca) == 2
    other_ca = tmp_path / "other-ca.crt"
    from datetime import datetime

    from creditx.pki.ca import init_ca

    other_ca.write_bytes(init_ca(tmp_path / "ca2", at=datetime.now(UTC)).path("ca.crt").read_bytes())
    assert creditx("verify-report", out, "--ca", other_ca) == 2


def test_person_report_masks_the_id_number(hall, tmp_path):
    out = tmp_path / "person.html"
    assert creditx("credit-report", PERSON, "--dir", hall.node_dir, "-o", out) == 0
    doc = out.read_text(encoding="utf-8")
    assert PERSON not in doc and PERSON[-4:] in _text(doc) and "证件号码（已脱敏）" in _text(doc)
    assert creditx("verify-report", out, "--dir", hall.node_dir) == 0
