"""Templates of licences, penalties and list entries: the words the generated records use.

Data only, modelled on published 双公示 records of Shandong cities. Placeholders in braces are
filled by ``creditx.standard.synth.records``: {county} county name, {d1} a date in Chinese, {q} a
count, {v} a value in yuan, {plate} a vehicle plate, {x} a measurement, {uscc} the subject's
code, {y} a year, {a} the city's document abbreviation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LicenceTemplate:
    dept: str  # city department key (authorities.DEPARTMENTS)
    province_dept: str  # the department that issues it at province level
    document: str  # XK_XKWS
    certificate: str  # XK_XKZS
    category: str  # XK_XKLB
    doc_tag: str  # middle of the decision number: 济审批食许〔2025〕12号
    number: str  # XK_XKBH pattern
    contents: tuple[str, ...]  # XK_NR choices
    years: int | None  # validity; None = long-term (2099-12-31)
    subjects: str  # "L" legal, "B" individual business, "P" natural person
    industries: tuple[str, ...] = ()


LICENCES: tuple[tuple[LicenceTemplate, int], ...] = (
    (
        LicenceTemplate(
            "approval",
            "market",
            "食品经营许可决定书",
            "食品经营许可证",
            "普通",
            "审批食许",
            "JY1{cc}{n7}",
            (
                "经营项目：预包装食品（含冷藏冷冻食品）销售，散装食品（不含冷藏冷冻食品）销售；主体业态：食品销售经营者",
                "经营项目：热食类食品制售，冷食类食品制售；主体业态：餐饮服务经营者（小型餐馆）",
                "经营项目：预包装食品（不含冷藏冷冻食品）销售，保健食品销售，特殊医学用途配方食品销售；主体业态：食品销售经营者（网络经营）",
                "经营项目：热食类食品制售，自制饮品制售；主体业态：单位食堂（职工食堂）",
            ),
            5,
            "LLBBB",
            ("餐饮管理", "食品", "商贸"),
        ),
        30,
    ),
    (
        LicenceTemplate(
            "approval",
            "market",
            "准予设立登记通知书",
            "营业执照",
            "登记",
            "审批登字",
            "{uscc}",
            (
                "准予设立登记。经营范围：一般项目：日用百货销售；五金产品零售；建筑材料销售；技术服务、技术开发、技术咨询",
                "准予设立登记。经营范围：许可项目：道路货物运输（不含危险货物）；一般项目：国内货物运输代理；装卸搬运",
                "准予设立登记。经营范围：一般项目：软件开发；信息系统集成服务；信息技术咨询服务；数据处理服务",
            ),
            None,
            "LLLB",
            (),
        ),
        20,
    ),
    (
        LicenceTemplate(
            "env",
            "env",
            "排污许可决定书",
            "排污许可证",
            "普通",
            "环许可",
            "{uscc}001P",
            (
                "行业类别：化学原料和化学制品制造业；排放污染物种类：颗粒物、二氧化硫、氮氧化物、挥发性有机物",
                "行业类别：金属表面处理及热处理加工；排放污染物种类：化学需氧量、氨氮、总镍、总铬",
                "行业类别：农副食品加工业；排放污染物种类：化学需氧量、氨氮、总磷、总氮",
            ),
            5,
            "L",
            ("化工", "机械制造", "食品", "石油化工"),
        ),
        10,
    ),
    (
        LicenceTemplate(
            "transport",
            "transport",
            "道路运输经营许可决定书",
            "道路运输经营许可证",
            "普通",
            "交运许",
            "鲁交运管许可{a}字{cc}{n6}号",
            (
                "经营范围：道路普通货物运输；货物专用运输（集装箱）",
                "经营范围：道路普通货物运输；大型物件运输",
                "经营范围：道路旅客运输（县内班车客运、县际包车客运）",
            ),
            4,
            "LLB",
            ("物流", "运输"),
        ),
        10,
    ),
    (
        LicenceTemplate(
            "housing",
            "housing",
            "建筑工程施工许可决定书",
            "建筑工程施工许可证",
            "普通",
            "建施许",
            "{cc}{ymd}{n4}0101",
            (
                "工程名称：{county}{estate}住宅小区{q}号楼；建设规模：{x}平方米；合同工期：{days}天",
                "工程名称：{county}{estate}产业园综合楼；建设规模：{x}平方米；合同工期：{days}天",
            ),
            None,
            "L",
            ("建筑工程", "房地产开发"),
        ),
        8,
    ),
    (
        LicenceTemplate(
            "safety",
            "safety",
            "危险化学品经营许可决定书",
            "危险化学品经营许可证",
            "普通",
            "应急危化许",
            "鲁{a}危化经字〔{y}〕{cc}{n4}",
            (
                "许可范围：批发（不带储存设施）：汽油、柴油[闭杯闪点≤60℃]、甲醇、乙醇[无水]",
                "许可范围：零售（带储存设施）：汽油、柴油[闭杯闪点≤60℃]",
                "许可范围：批发（不带储存设施）：盐酸、硫酸、氢氧化钠、过氧化氢溶液[含量>8%]",
            ),
            3,
            "L",
            ("石油化工", "化工", "商贸"),
        ),
        6,
    ),
    (
        LicenceTemplate(
            "health",
            "health",
            "医疗机构执业许可决定书",
            "医疗机构执业许可证",
            "普通",
            "卫医许",
            "PDY{n8}{cc}{n2}D2112",
            (
                "诊疗科目：内科；外科；妇产科；口腔科；医学检验科；医学影像科",
                "诊疗科目：口腔科；医学影像科（X线诊断专业）",
                "诊疗科目：全科医疗科；中医科",
            ),
            5,
            "LB",
            ("医疗管理",),
        ),
        6,
    ),
    (
        LicenceTemplate(
            "housing",
            "housing",
            "燃气经营许可决定书",
            "燃气经营许可证",
            "特许",
            "燃气许",
            "{a}燃经字〔{y}〕{n4}号",
            ("经营区域：{county}；经营类别：瓶装液化石油气", "经营区域：{county}；经营类别：管道燃气（天然气）"),
            3,
            "L",
            ("新能源", "石油化工"),
        ),
        3,
    ),
    (
        LicenceTemplate(
            "health",
            "health",
            "医师执业注册决定书",
            "医师执业证书",
            "认可",
            "卫医注",
            "1{n6}{cc}{n2}",
            (
                "执业类别：临床；执业范围：内科专业；执业地点：{county}人民医院",
                "执业类别：口腔；执业范围：口腔专业；执业地点：{county}口腔医院",
                "执业类别：中医；执业范围：中医专业；执业地点：{county}中医医院",
            ),
            None,
            "P",
            (),
        ),
        6,
    ),
    (
        LicenceTemplate(
            "transport",
            "transport",
            "道路运输从业人员从业资格认定决定书",
            "道路运输从业资格证",
            "核准",
            "交从许",
            "{idn}",
            ("从业资格类别：经营性道路货物运输驾驶员", "从业资格类别：经营性道路旅客运输驾驶员"),
            6,
            "P",
            (),
        ),
        6,
    ),
)


@dataclass(frozen=True)
class PenaltyTemplate:
    dept: str
    violation: str  # CF_WFXW
    facts: str  # CF_SY
    basis: str  # CF_YJ
    kinds: tuple[str, ...]  # CF_CFLB values, ";"-joined on the record (REC-024)
    fine: tuple[int, int] | None  # range in yuan, multiples of 100
    subjects: str
    serious: bool = False


PENALTIES: tuple[tuple[PenaltyTemplate, int], ...] = (
    (
        PenaltyTemplate(
            "market",
            "经营超过保质期的食品",
            "经查，当事人于{d1}在其经营场所销售超过保质期的预包装食品“{product}”{q}盒，货值金额{v}元，违法所得{g}元。",
            "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
            ("罚款", "没收违法所得"),
            (5000, 50000),
            "LBB",
        ),
        18,
    ),
    (
        PenaltyTemplate(
            "market",
            "未按规定明码标价",
            "{d1}执法人员检查发现，当事人经营场所内{q}种商品未按规定标明价格，违反了《中华人民共和国价格法》第十三条的规定。",
            "《明码标价和禁止价格欺诈规定》第二十二条",
            ("警告",),
            None,
            "BB",
        ),
        10,
    ),
    (
        PenaltyTemplate(
            "market",
            "销售不合格产品",
            "经抽样检验，当事人销售的{product}经检验不合格，共计{q}件，货值金额{v}元，违法所得{g}元。",
            "《中华人民共和国产品质量法》第四十九条",
            ("罚款", "没收违法所得", "没收非法财物"),
            (2000, 30000),
            "LB",
        ),
        8,
    ),
    (
        PenaltyTemplate(
            "env",
            "超标排放大气污染物",
            "{d1}执法人员对当事人现场检查，经监测，其{q}号排气筒颗粒物排放浓度为{x}mg/m³，超过《区域性大气污染物综合排放标准》（DB37/2376-2019）规定的限值。",
            "《中华人民共和国大气污染防治法》第九十九条第（二）项",
            ("罚款",),
            (100000, 1000000),
            "L",
        ),
        6,
    ),
    (
        PenaltyTemplate(
            "env",
            "建设项目未依法报批环境影响评价文件擅自开工建设",
            "当事人{product}建设项目未依法报批环境影响评价文件，于{d1}擅自开工建设，项目总投资{v}元。",
            "《中华人民共和国环境影响评价法》第三十一条第一款",
            ("罚款",),
            (50000, 500000),
            "L",
        ),
        4,
    ),
    (
        PenaltyTemplate(
            "safety",
            "未按规定对从业人员进行安全生产教育和培训",
            "{d1}执法人员检查发现，当事人{q}名从业人员未经安全生产教育和培训即上岗作业。",
            "《中华人民共和国安全生产法》第九十七条第（三）项",
            ("警告", "罚款"),
            (10000, 100000),
            "L",
        ),
        6,
    ),
    (
        PenaltyTemplate(
            "safety",
            "未在有较大危险因素的生产经营场所设置明显的安全警示标志",
            "{d1}执法人员检查发现，当事人{product}车间有较大危险因素的场所未设置明显的安全警示标志。",
            "《中华人民共和国安全生产法》第九十九条第（一）项",
            ("罚款",),
            (20000, 50000),
            "L",
        ),
        4,
    ),
    (
        PenaltyTemplate(
            "safety",
            "发生生产安全事故",
            "{d1}，当事人{product}车间发生一起物体打击事故，造成{q}人死亡，经调查认定为一般生产安全责任事故。",
            "《中华人民共和国安全生产法》第一百一十四条第一款第（一）项",
            ("罚款", "责令停产停业"),
            (300000, 1000000),
            "L",
            True,
        ),
        1,
    ),
    (
        PenaltyTemplate(
            "transport",
            "未取得道路运输经营许可擅自从事道路货物运输经营",
            "{d1}，当事人驾驶{plate}号货车从事道路货物运输经营，未能提供道路运输经营许可证，违法所得{g}元。",
            "《中华人民共和国道路运输条例》第六十三条",
            ("罚款", "没收违法所得"),
            (10000, 50000),
            "PPB",
        ),
        7,
    ),
    (
        PenaltyTemplate(
            "transport",
            "车辆违法超限运输",
            "{d1}，当事人驾驶{plate}号货车在{county}超限检测站经检测车货总质量{x}吨，超过限定标准。",
            "《公路安全保护条例》第六十四条",
            ("罚款",),
            (500, 30000),
            "PL",
        ),
        7,
    ),
    (
        PenaltyTemplate(
            "housing",
            "未取得施工许可证擅自施工",
            "当事人承建的{county}{product}项目未取得建筑工程施工许可证，于{d1}擅自开工建设，合同价款{v}元。",
            "《建筑工程施工许可管理办法》第十二条",
            ("罚款",),
            (20000, 200000),
            "L",
        ),
        4,
    ),
    (
        PenaltyTemplate(
            "health",
            "未取得《医疗机构执业许可证》擅自执业",
            "{d1}执法人员检查发现，当事人在{county}未取得《医疗机构执业许可证》擅自开展诊疗活动，违法所得{g}元。",
            "《医疗机构管理条例》第四十三条",
            ("罚款", "没收违法所得", "没收非法财物"),
            (30000, 100000),
            "PB",
        ),
        4,
    ),
    (
        PenaltyTemplate(
            "market",
            "提交虚假材料取得公司登记",
            "当事人于{d1}提交虚假的股东会决议等材料取得公司登记，情节严重。",
            "《中华人民共和国公司法》第二百五十条",
            ("罚款", "吊销许可证件"),
            (50000, 500000),
            "L",
            True,
        ),
        2,
    ),
    (
        PenaltyTemplate(
            "urban",
            "未经批准擅自设置户外广告设施",
            "{d1}执法人员检查发现，当事人未经批准在{county}擅自设置户外广告设施{q}处。",
            "《山东省城市建设管理条例》第七十九条",
            ("罚款",),
            (500, 5000),
            "LB",
        ),
        6,
    ),
    (
        PenaltyTemplate(
            "tax",
            "未按照规定期限办理纳税申报和报送纳税资料",
            "当事人未按照规定期限办理{y}年{q}月增值税纳税申报。",
            "《中华人民共和国税收征收管理法》第六十二条",
            ("罚款",),
            (200, 2000),
            "LB",
        ),
        8,
    ),
)

PRODUCTS = (
    "康师傅方便面",
    "伊利纯牛奶",
    "鲁花花生油",
    "三元酸奶",
    "电动自行车头盔",
    "燃气灶具",
    "儿童玩具",
    "LED灯具",
    "建筑用钢筋",
    "复合肥料",
    "涂料",
    "年产5万吨饲料",
)
ESTATES = ("锦绣", "和园", "翡翠", "泉景", "海岸", "御府", "学府", "东方")


@dataclass(frozen=True)
class ListTemplate:
    code: str  # MD_LX
    dept: str
    reasons: tuple[str, ...]  # MD_LRYY
    basis: str  # MD_RDYJ
    document: str  # MD_RDWS
    doc: str  # MD_RDWSH pattern ({a}, {y}, {n})
    subjects: str
    weight: int


LISTS: tuple[ListTemplate, ...] = (
    ListTemplate(
        "SXBZXR",
        "court",
        ("有履行能力而拒不履行生效法律文书确定义务", "违反财产报告制度", "违反限制消费令"),
        "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
        "执行决定书",
        "",
        "LPPB",
        20,
    ),
    ListTemplate(
        "ZDSSWF",
        "tax",
        ("虚开增值税专用发票", "偷税金额100万元以上且占各种应纳税总额10%以上"),
        "《重大税收违法失信主体信息公布管理办法》（国家税务总局令第54号）第六条",
        "税务行政处罚决定书",
        "{a}税稽罚〔{y}〕{n}号",
        "L",
        5,
    ),
    ListTemplate(
        "SCJGYZWF",
        "market",
        ("因食品安全违法行为受到较重行政处罚", "提交虚假材料取得登记，情节严重"),
        "《市场监督管理严重违法失信名单管理办法》（国家市场监督管理总局令第44号）第九条",
        "列入严重违法失信名单决定书",
        "{a}市监信列〔{y}〕{n}号",
        "LB",
        6,
    ),
    ListTemplate(
        "JYYC",
        "market",
        ("未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告", "通过登记的住所或者经营场所无法联系"),
        "《市场主体登记管理条例实施细则》第七十条；《经营异常名录管理办法》第四条",
        "列入经营异常名录决定书",
        "{a}市监异列〔{y}〕{n}号",
        "LLB",
        30,
    ),
    ListTemplate(
        "AQSCSX",
        "safety",
        ("发生较大及以上生产安全责任事故", "未依法取得安全准入条件擅自从事生产经营活动"),
        "《安全生产严重失信主体名单管理办法》（应急管理部令第11号）第五条；鲁应急发〔2024〕10号",
        "安全生产严重失信主体名单列入决定书",
        "{a}应急失信〔{y}〕{n}号",
        "L",
        4,
    ),
    ListTemplate(
        "TQNMGGZ",
        "hrss",
        ("克扣、无故拖欠农民工工资达到认定拒不支付劳动报酬罪数额标准",),
        "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》第五条",
        "列入拖欠农民工工资失信联合惩戒对象名单决定书",
        "{a}人社失信〔{y}〕{n}号",
        "L",
        4,
    ),
    ListTemplate(
        "ZFCGSX",
        "finance",
        ("提供虚假材料谋取中标、成交", "与采购人、其他供应商恶意串通"),
        "《中华人民共和国政府采购法》第七十七条",
        "政府采购行政处罚决定书",
        "{a}财采罚〔{y}〕{n}号",
        "L",
        3,
    ),
    ListTemplate(
        "SHZZSX",
        "civil",
        ("被撤销登记后继续以社会组织名义进行活动", "被列入活动异常名录满2年"),
        "《社会组织信用信息管理办法》第十四条",
        "列入严重违法失信名单决定书",
        "{a}民信列〔{y}〕{n}号",
        "S",
        2,
    ),
    ListTemplate(
        "HGSX",
        "customs",
        ("违反海关监管规定被海关行政处罚金额累计超过100万元",),
        "《中华人民共和国海关注册登记和备案企业信用管理办法》（海关总署令第282号）",
        "海关企业信用等级认定决定书",
        "{a}关信认〔{y}〕{n}号",
        "L",
        2,
    ),
    ListTemplate(
        "AJNSR",
        "tax",
        ("{py}年度纳税信用评价为A级",),
        "《纳税信用管理办法（试行）》（国家税务总局公告2014年第40号）",
        "纳税信用A级纳税人名单公告",
        "{a}税公告〔{y}〕{n}号",
        "L",
        15,
    ),
    ListTemplate(
        "HGGJRZ",
        "customs",
        ("经海关认证，符合高级认证企业标准",),
        "《中华人民共和国海关注册登记和备案企业信用管理办法》（海关总署令第282号）",
        "海关高级认证企业证书",
        "{a}关认〔{y}〕{n}号",
        "L",
        3,
    ),
    ListTemplate(
        "SZZLJ",
        "gov",
        ("荣获{py}年度山东省省长质量奖",),
        "《山东省省长质量奖管理办法》",
        "山东省人民政府关于省长质量奖获奖名单的通报",
        "鲁政字〔{y}〕{n}号",
        "L",
        2,
    ),
)
