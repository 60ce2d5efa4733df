"""Plausible Chinese person, company, individual-business and social-organisation names.

Pure: every function takes a ``random.Random`` and returns a string, so the generator stays
deterministic. Surnames are drawn with Shandong-like frequencies (王, 张, 刘, 李 lead);
company names follow the registration pattern 行政区划 + 字号 + 行业 + 组织形式
(济南鑫润商贸有限公司), individual businesses 区县 + 字号/姓氏 + 行业特点 (历下区老王家常菜馆).
"""

from __future__ import annotations

import random

from creditx.standard.synth.draw import pick

# Weighted so common surnames dominate (repeated entries raise the weight).
SURNAMES = tuple(
    "王王王王王张张张张刘刘刘刘李李李李赵赵孙孙杨杨陈陈徐徐马马高高于于郭郭宋宋"
    "吕韩周吴朱胡曹魏董田任程崔邢姜冯许孔颜尹梁范鲍房丁宫隋毕"
)
GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏建国志红斌飞宁浩凯"
    "欣怡子涵雨轩梓晨一诺宇航嘉琪佳乐俊文博思远立新海燕春梅德胜庆丰振东"
)

# 字号: two-character trade names of the kind registrars accept.
TRADE_NAMES = (
    "鑫润",
    "恒泰",
    "华鲁",
    "泉城",
    "齐鲁",
    "金泰",
    "宏达",
    "瑞丰",
    "众诚",
    "德润",
    "海川",
    "裕隆",
    "康达",
    "润泽",
    "盛世",
    "通达",
    "汇源",
    "永盛",
    "聚力",
    "嘉禾",
    "博远",
    "蓝海",
    "鼎盛",
    "诚信",
    "广源",
    "新元",
    "天和",
    "锦程",
    "华信",
    "东方",
    "泰和",
    "中联",
    "友谊",
    "长青",
    "远航",
    "兴业",
    "福瑞",
    "明德",
    "宏图",
    "昌盛",
    "佳和",
    "银座",
    "鲁信",
    "齐源",
    "泓泰",
    "凯旋",
    "安泰",
    "荣昌",
)

# (industry words, organisational form) — form chosen per name.
INDUSTRIES = (
    "商贸",
    "建筑工程",
    "建材",
    "餐饮管理",
    "食品",
    "物流",
    "化工",
    "机械制造",
    "电子科技",
    "信息技术",
    "房地产开发",
    "物业管理",
    "医药",
    "农业科技",
    "环保科技",
    "汽车销售服务",
    "装饰工程",
    "运输",
    "石油化工",
    "纺织",
    "钢铁贸易",
    "新能源",
    "生物科技",
    "酒店管理",
)
FORMS = ("有限公司", "有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "集团有限公司")

SHOPS = (
    "便利店",
    "超市",
    "家常菜馆",
    "水饺馆",
    "烧烤店",
    "五金店",
    "理发店",
    "汽车修理部",
    "建材经营部",
    "副食品店",
    "药店",
    "水果店",
    "服装店",
    "快餐店",
    "早餐店",
    "烟酒店",
    "手机维修店",
    "粮油店",
)
SOCIAL_KINDS = ("商会", "协会", "行业协会", "养老服务中心", "职业培训学校", "文化促进会", "志愿者协会")
SOCIAL_TOPICS = ("餐饮", "物流", "建筑业", "电子商务", "家政服务", "个体劳动者", "老年", "青年创业", "摄影")


def person_name(rng: random.Random) -> str:
    """A Han Chinese name: surname + one or two given characters."""
    given = pick(rng, GIVEN) if rng.random() < 0.3 else pick(rng, GIVEN) + pick(rng, GIVEN)
    return pick(rng, SURNAMES) + given


def company_name(rng: random.Random, city_short: str, industry: str | None = None) -> str:
    """济南鑫润商贸有限公司; sometimes 山东 as the regional prefix, as larger firms use."""
    prefix = "山东" if rng.random() < 0.15 else city_short
    return f"{prefix}{pick(rng, TRADE_NAMES)}{industry or pick(rng, INDUSTRIES)}{pick(rng, FORMS)}"


def business_name(rng: random.Random, county_name: str, owner: str) -> str:
    """历下区老王家常菜馆 / 历下区鑫润五金店: a 个体工商户's registered name."""
    style = rng.random()
    shop = pick(rng, SHOPS)
    if style < 0.4:
        return f"{county_name}{owner}{shop}"
    if style < 0.7:
        return f"{county_name}老{owner[0]}{shop}"
    return f"{county_name}{pick(rng, TRADE_NAMES)}{shop}"


def social_org_name(rng: random.Random, city_short: str) -> str:
    """济南市餐饮商会: a registered social organisation (社会团体 / 民办非企业单位)."""
    return f"{city_short}市{pick(rng, SOCIAL_TOPICS)}{pick(rng, SOCIAL_KINDS)}"
