"""Subjects of records (行政相对人 / 名单主体) with valid identifiers, and their field blocks.

Pure: ``make_subject(rng, region, today, kind)`` draws a subject; ``subject_fields(prefix,
subject)`` lays it out under the field codes of a record type. Invariants:

* a 法人及非法人组织 has a valid USCC (REC-ID-01…03) whose positions 3–8 are a county of the
  region (for Jinan sometimes a legacy Laiwu 3712xx code), a 法定代表人 and often their ID;
* a 个体工商户 has a valid 92… USCC, or — sometimes — the placeholder ``00000000000000000X``
  together with a 15-digit 工商注册号 (REC-031, GB 12400 check digit, ISO 7064 MOD 11,10);
* a 自然人 has ID type 身份证 and a valid 18-digit ID number (GB 11643) with a Shandong
  address code and a birth date 20–70 years before ``today`` (REC-032).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from creditx.standard.identifiers import USCC_PLACEHOLDER, id_check_char, org_code_check_char, uscc_check_char
from creditx.standard.synth import names
from creditx.standard.synth.draw import between, chars, digits, pick
from creditx.standard.synth.places import ALL_COUNTIES, CITY_SHORT, LAIWU_LEGACY, counties_of

LEGAL, PERSON, BUSINESS = "法人及非法人组织", "自然人", "个体工商户"
ID_CARD = "身份证"
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # stays inside the USCC alphabet


@dataclass(frozen=True)
class Subject:
    category: str
    name: str
    uscc: str = ""
    gszc: str = ""  # 工商注册号, only with the placeholder USCC
    org_code: str = ""
    rep: str = ""  # 法定代表人 / 经营者
    rep_id: str = ""
    id_number: str = ""  # 自然人's own ID number
    county: str = ""


def _org_code(rng: random.Random, new_style: bool) -> str:
    # codes issued with USCCs since 2015: MA + 6 characters
    body = "MA" + chars(rng, _ORG_CHARS, 6) if new_style else digits(rng, 8)
    return body + org_code_check_char(body)


def make_uscc(dept_cat: str, division: str, org_code: str) -> str:
    body = dept_cat + division + org_code
    return body + uscc_check_char(body)


def registration_number(county: str, rng: random.Random) -> str:
    """A 15-digit 工商注册号: county code, 6 (individual business), 7 digits, MOD 11,10 check."""
    body = county + "6" + digits(rng, 7)
    p = 10
    for ch in body:
        s = (p + int(ch)) % 10 or 10
        p = (s * 2) % 11
    return body + str((11 - p) % 10)


def id_number(rng: random.Random, county: str, today: dt.date) -> str:
    """A valid 18-digit ID: address code, birth date 20–70 years ago, sequence, check (GB 11643)."""
    born = today - dt.timedelta(days=between(rng, 20 * 365, 70 * 365))
    body = county + born.isoformat().replace("-", "") + digits(rng, 3)
    return body + id_check_char(body)


def _person_county(rng: random.Random, county: str) -> str:
    return county if rng.random() < 0.8 else pick(rng, ALL_COUNTIES)[0]


def make_subject(
    rng: random.Random, region: str, today: dt.date, category: str, *, industry: str | None = None, social: bool = False
) -> Subject:
    """Draw one subject of ``category`` registered in ``region``."""
    county, county_name = pick(rng, counties_of(region))
    city = CITY_SHORT.get(county[:4] + "00", CITY_SHORT[region])
    if category == PERSON:
        return Subject(
            PERSON, names.person_name(rng), id_number=id_number(rng, _person_county(rng, county), today), county=county
        )
    rep = names.person_name(rng)
    rep_id = id_number(rng, _person_county(rng, county), today) if rng.random() < 0.5 else ""
    if category == BUSINESS:
        name = names.business_name(rng, county_name, rep)
        if rng.random() < 0.15:  # registered before 2016, never given a USCC (REC-031)
            return Subject(
                BUSINESS,
                name,
                USCC_PLACEHOLDER,
                registration_number(county, rng),
                rep=rep,
                rep_id=rep_id,
                county=county,
            )
        return Subject(
            BUSINESS, name, make_uscc("92", county, _org_code(rng, True)), rep=rep, rep_id=rep_id, county=county
        )
    division = county
    if region == "370100" and rng.random() < 0.05:  # an old Laiwu registration
        division = pick(rng, LAIWU_LEGACY)[0]
    if social:
        org = _org_code(rng, False)
        return Subject(
            LEGAL,
            names.social_org_name(rng, city),
            make_uscc("51", division, org),
            org_code=org,
            rep=rep,
            rep_id=rep_id,
            county=county,
        )
    org = _org_code(rng, rng.random() < 0.7)
    return Subject(
        LEGAL,
        names.company_name(rng, city, industry),
        make_uscc("91", division, org),
        org_code=org if rng.random() < 0.3 else "",
        rep=rep,
        rep_id=rep_id,
        county=county,
    )


def _codes(prefix: str) -> tuple[str, ...]:
    if prefix == "MD":
        return ("MD_ZT_MC", "MD_ZT_LB", "MD_ZT_SHXYM", "MD_ZT_GSZC", "", "MD_FRDB", "", "", "MD_ZT_ZJLX", "MD_ZT_ZJHM")
    p = prefix
    return (
        f"{p}_XDR_MC",
        f"{p}_XDR_LB",
        f"{p}_XDR_SHXYM",
        f"{p}_XDR_GSZC",
        f"{p}_XDR_ZZJG",
        f"{p}_FRDB",
        f"{p}_FR_ZJLX",
        f"{p}_FR_ZJHM",
        f"{p}_XDR_ZJLX",
        f"{p}_XDR_ZJHM",
    )


_CODES = {p: _codes(p) for p in ("XK", "CF", "MD")}


def subject_fields(prefix: str, s: Subject) -> dict[str, str]:
    """The subject block of a record: field code → value, empty values omitted."""
    mc, lb, shxym, gszc, zzjg, frdb, fr_zjlx, fr_zjhm, zjlx, zjhm = _CODES[prefix]
    out = {mc: s.name, lb: s.category}
    if s.category == PERSON:
        out[zjlx] = ID_CARD
        out[zjhm] = s.id_number
        return out
    out[shxym] = s.uscc
    if s.gszc:
        out[gszc] = s.gszc
    if s.org_code and zzjg:
        out[zzjg] = s.org_code
    out[frdb] = s.rep
    if s.rep_id and fr_zjhm:
        out[fr_zjlx] = ID_CARD
        out[fr_zjhm] = s.rep_id
    return out
