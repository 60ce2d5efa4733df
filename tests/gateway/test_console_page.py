"""The operator's status page in headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): what it shows equals `creditx gateway status --json` and `creditx gateway stats
--json`; it updates itself; a rejection reason drills down to its records. Screenshots of the
main views are kept in test-artifacts/console/ (ignored by git).

Access: without the token or an operator certificate the page answers 401; a node's
certificate is not an operator's."""

from __future__ import annotations

import json
import shutil
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from creditx.cli.main import main
from tests.gateway.push_client import PushClient, payloads, reseq

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _push(gateway, pki, region: str, n: int, start: int, seed: int, invalid: float = 0.25) -> None:
    c = PushClient(gateway.address, pki.nodes[region])
    c.handshake()
    batch = payloads(region, n, start_seq=start, seed=seed, invalid_share=invalid)
    c.push([c.batch(batch, start_seq=start)])
    c.close()


@pytest.fixture
def province(gateway, pki):
    shutil.copytree(pki.operator.dir, gateway.dir / "operator")
    _push(gateway, pki, "370100", 40, 1, 1)
    gateway.console.series.sample()
    _push(gateway, pki, "370200", 30, 1, 2, invalid=0.1)
    c = PushClient(gateway.address, pki.nodes["370200"])
    c.handshake()
    good = payloads("370200", 3, start_seq=31, seed=9)
    c.push([c.batch(good, start_seq=31)])
    c.push([c.batch([reseq(p, 34 + i) for i, p in enumerate(good)], start_seq=34)])
    c.close()
    gateway.checkpointer.sign_now()
    gateway.console.series.sample()
    return gateway


def _json(argv, capsys) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


def test_page_refuses_without_token_and_accepts_an_operator_certificate(province, pki):
    url = province.console.url
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, context=_insecure(), timeout=10)
    assert err.value.code == 401
    op = ssl.create_default_context(cafile=str(pki.operator.ca))
    op.check_hostname = False
    op.load_cert_chain(pki.operator.cert, pki.operator.key)
    with urllib.request.urlopen(url + "api/status", context=op, timeout=10) as r:
        assert json.loads(r.read())["gateway_id"] == "gateway"
    node = ssl.create_default_context(cafile=str(pki.operator.ca))
    node.check_hostname = False
    node.load_cert_chain(pki.nodes["370100"].auth_cert, pki.nodes["370100"].auth_key)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, context=node, timeout=10)
    assert err.value.code == 401


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1500,1800",
    ):
        opts.add_argument(a)
    opts.accept_insecure_certs = True  # the gateway's certificate is from the provincial CA
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _wait(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.2)


# The page replaces its body on every refresh, so element handles taken one by one can go stale
# between two WebDriver calls. One script reads everything compared at once: the page's own
# script cannot run in between.
_READ_PAGE = """
const text = (e) => e.innerText.trim();
const rows = {};
for (const tr of document.querySelectorAll('#nodes tr[data-region]')) {
  const cells = {};
  for (const td of tr.querySelectorAll('td')) cells[td.dataset.field] = text(td);
  rows[tr.dataset.region] = {health: tr.dataset.health, cells};
}
const audit = {};
for (const td of document.querySelectorAll('#audit td')) audit[td.dataset.field] = text(td);
const stats = {};
for (const e of document.querySelectorAll('[data-stat]')) stats[e.dataset.stat] = text(e);
return {rows, audit, stats};
"""


def _read(drv) -> dict:
    return drv.execute_script(_READ_PAGE)


def _plot(drv) -> tuple[int, str]:
    """The ingest plot's point count and text, read in one script for the same reason."""
    got = drv.execute_script(
        "const p = document.getElementById('plot-ingest');return [+(p.dataset.points || 0), p.innerText];"
    )
    return int(got[0]), str(got[1])


def _shot(drv, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = drv.execute_script("return document.body.scrollHeight")
    drv.set_window_size(1500, max(900, min(int(height) + 40, 6000)))
    drv.save_screenshot(str(path))
    return path


def test_page_shows_the_gateways_own_figures_and_updates_itself(province, pki, browser, capsys):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    d = province.dir
    # the pushes are over: let the gateway see both streams end (SYNC-050) before page and status
    # are compared, so the two reads cannot straddle a node's change of state
    _wait(
        lambda: (
            not any(n["connected"] for n in _json(["gateway", "status", "--dir", str(d), "--json"], capsys)["nodes"])
        )
    )
    browser.get(province.console.url + "?token=" + (d / "console.token").read_text().strip())
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#nodes tr[data-region]"))
    assert browser.title == "creditx · gateway"

    status = _json(["gateway", "status", "--dir", str(d), "--json"], capsys)
    page = _read(browser)
    rows = page["rows"]
    assert set(rows) == {n["region"] for n in status["nodes"]} == {"370100", "370200"}
    for n in status["nodes"]:
        cells = rows[n["region"]]["cells"]
        for f in ("committed_seq", "backlog", "accepted", "rejected", "applied_list_seq", "list_lag_entries"):
            assert int(cells[f]) == n[f], (n["region"], f)
        assert cells["cert_expiry"] == min(n["auth_cert_not_after"], n["signing_cert_not_after"])[:10]
        assert rows[n["region"]]["health"] in ("ok", "warn")
        assert cells["state"].startswith("connected" if n["connected"] else "disconnected")
    audit = page["audit"]
    assert int(audit["audit_size"]) == status["audit_size"]
    assert int(audit["checkpoint_size"]) == status["checkpoint_size"]

    stats = _json(["gateway", "stats", "--dir", str(d), "--json"], capsys)
    shown = page["stats"]
    assert int(shown["records"]) == stats["records"] == 76
    for key in ("by_region", "by_department", "by_type", "by_month"):
        for name, counts in stats[key].items():
            for outcome, n in counts.items():
                assert int(shown[f"{key}.{name}.{outcome}"]) == n, (key, name, outcome)
    for t in stats["timeliness"]:
        assert int(shown[f"timeliness.{t['department']}.records"]) == t["records"]
        assert int(shown[f"timeliness.{t['department']}.within_7_working_days"]) == t["within_7_working_days"]
    for dept, reasons in stats["top_rejection_reasons"].items():
        for r in reasons:
            assert int(shown[f"top_rejection_reasons.{dept}.{r['reason']}"]) == r["n"]
    assert int(shown["list_reach.changes"]) == stats["list_changes_reached_every_city"]["changes"]
    points, plot_text = _plot(browser)
    assert points >= 1 or "collecting" in plot_text
    _shot(browser, "overview")

    # It updates itself: new records arrive, the page shows them without a reload.
    before = int(browser.execute_script("return +document.body.dataset.refreshes || 0"))
    _push(province, pki, "370100", 10, 41, 5, invalid=0.0)
    province.console.series.sample()
    want = _json(["gateway", "status", "--dir", str(d), "--json"], capsys)
    accepted = next(n["accepted"] for n in want["nodes"] if n["region"] == "370100")

    def updated():
        row = _read(browser)["rows"].get("370100")
        return (
            row is not None
            and int(row["cells"]["accepted"]) == accepted
            and int(browser.execute_script("return +document.body.dataset.refreshes || 0")) > before
        )

    _wait(updated)
    assert _plot(browser)[0] >= 2
    _shot(browser, "overview-updated")

    # Drill-down: a rejection reason opens the records it counts.
    dept, reasons = next(iter(stats["top_rejection_reasons"].items()))

    def opened() -> bool:
        try:
            browser.find_element(By.CSS_SELECTOR, f'#rejections a[data-reason="{reasons[0]["reason"]}"]').click()
        except StaleElementReferenceException:  # a refresh replaced the link between find and click
            return False
        return True

    _wait(opened)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, '[data-field="shown"]'))
    record_rows = browser.find_elements(By.CSS_SELECTOR, "main table tr")[1:]
    assert len(record_rows) == reasons[0]["n"]
    assert all(reasons[0]["reason"] in r.text for r in record_rows)
    _shot(browser, "rejections-drill-down")
