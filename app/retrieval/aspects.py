"""What a medication question asks *about* a drug: its aspect (dose, pregnancy, side effects…).

The taxonomy is one table, ``ASPECTS``, read top to bottom; every aspect has

- **cues**: English and Chinese patterns in the question ("maximum daily dose", "最大剂量");
- **sections**: the label section headings that answer it (FDA headings vary by label and era:
  "Dosage and Administration", "Directions", "2 DOSAGE AND ADMINISTRATION"…);
- **terms**: words that show a passage talks about it even under another heading ("nursing" in a
  "Precautions" section answers a breastfeeding question).

More specific aspects come first (maximum dose before dose, overdose before dose, breastfeeding
before pregnancy); a question has one *primary* aspect, the first that matches, and may match
others ("can I take ibuprofen while pregnant with warfarin" asks pregnancy and interaction).  A
question that matches none asks for general information (``information``).  ``label_aspect``
tells whether a drug's own label is where the answer belongs: a dose or pregnancy question is
answered from the drug's label, never from a passage of another drug's label that mentions it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Aspect:
    name: str
    label: str  # how the answer names it ("maximum dose")
    label_zh: str
    cues: re.Pattern[str]
    sections: re.Pattern[str]
    terms: re.Pattern[str]
    label_aspect: bool = True  # answered from the drug's own label
    product: bool = False  # a property of a medicine as supplied (dose, storage, look…): only its label tells

    def section_matches(self, heading: str) -> bool:
        return self.sections.search(heading) is not None

    def mentioned_in(self, text: str) -> bool:
        return self.terms.search(text) is not None


def _aspect(name: str, label: str, label_zh: str, cues: str, sections: str, terms: str,
            label_aspect: bool = True) -> Aspect:
    sections += f"|{_ZH_SECTIONS[name]}" if name in _ZH_SECTIONS else ""
    terms += f"|{_ZH_TERMS[name]}" if name in _ZH_TERMS else ""
    return Aspect(name, label, label_zh, re.compile(cues, re.I), re.compile(sections, re.I), re.compile(terms, re.I),
                  label_aspect, name in PRODUCT_ASPECTS)


# The headings of a Chinese drug instruction (说明书, the NMPA's order of 【…】 sections) that answer each aspect,
# and the words that show a passage speaks of it under another heading.
_ZH_DOSAGE = "用法用量|用法与用量|用法"
_ZH_SECTIONS: dict[str, str] = {
    "overdose": "药物过量|过量", "max_dose": _ZH_DOSAGE, "missed_dose": _ZH_DOSAGE,
    "stopping": f"注意事项|{_ZH_DOSAGE}",
    "lactation": "哺乳", "pregnancy": "孕妇|妊娠", "pediatric": f"儿童用药|{_ZH_DOSAGE}", "geriatric": "老年",
    "renal": f"肾功能|{_ZH_DOSAGE}", "hepatic": f"肝功能|{_ZH_DOSAGE}", "interaction": "相互作用",
    "contraindication": "禁忌", "side_effects": "不良反应", "warnings": "注意事项|警示语|警告",
    "administration": _ZH_DOSAGE, "storage": "贮藏|储藏|贮存", "appearance": "性状|规格",
    "ingredients": "成份|成分", "dose": f"{_ZH_DOSAGE}|规格", "brand_names": "药品名称",
    "duration_of_use": _ZH_DOSAGE, "onset_duration": "药代动力学", "mechanism": "药理毒理|药理作用",
    "indication": "适应症|功能主治|适应证",
}
_ZH_TERMS: dict[str, str] = {
    "overdose": "过量|中毒", "max_dose": "最大|不超过|不宜超过|不得超过", "missed_dose": "漏服",
    "stopping": "停药|停用", "lactation": "哺乳|乳汁", "pregnancy": "妊娠|孕妇", "pediatric": "儿童|小儿",
    "geriatric": "老年", "renal": "肾", "hepatic": "肝", "interaction": "合用|相互作用|联用|同服",
    "contraindication": "禁用|禁忌", "side_effects": "不良反应|副作用", "warnings": "慎用|注意|风险|警示",
    "storage": "贮藏|保存|避光|密闭|冷藏|℃", "ingredients": "成份|成分|含", "dose": "剂量|用量|每日|每次",
    "indication": "适用于|用于",
}


# Properties of a medicine as supplied: an abstract or a disease page that names the drug does not answer them.
PRODUCT_ASPECTS = frozenset({"dose", "max_dose", "overdose", "missed_dose", "contraindication", "storage",
                             "appearance", "ingredients", "administration", "duration_of_use", "brand_names",
                             "stopping"})


_DOSAGE_SECTIONS = r"\bdosage\b|\bdosing\b|\bdirections\b|\bdose\b|\badministration\b"
_DRUG_WORDS = r"(?:it|this|that|them|drugs?|medications?|medicines?|meds|pills?|tablets?|\w+)"

ASPECTS: tuple[Aspect, ...] = (
    _aspect("overdose", "overdose", "过量",
            r"\boverdos\w*|\btoo (?:much|many)\b|\bpoison\w*|\b(?:ate|swallowed|took) (?:a|an|the|two|\d+|too)\b"
            r"|\baccidental(?:ly)? (?:took|ingest\w*|swallow\w*)|过量|中毒|误服",
            r"\boverdos\w*", r"\boverdos\w*|\btoxicity\b|\bpoison\w*"),
    _aspect("max_dose", "maximum dose", "最大剂量",
            r"\bmax(?:imum)?\.?\s+(?:daily\s+|single\s+|safe\s+)?(?:dose"
            r"|dosage|amount)\b|\bmost (?:i|you|one) can take\b"
            r"|\bhighest dose\b|\bhow much is (?:too much|safe)\b|\bdaily (?:limit|maximum)\b|最大(?:日)?(?:剂量|用量)"
            r"|最多(?:能|可以)?(?:吃|服用?|用)",
            _DOSAGE_SECTIONS,
            r"\bmaximum\b|\bnot (?:to )?exceed\b|\bno more than\b|\bup to \d|\bmax\b|\bin 24 hours\b|\bper day\b"
            r"|\bmore than \d+(?:\.\d+)? ?(?:caplets?|tablets?|capsules?|doses?|mg|mcg|g|grams?|units?|mL|pills?)\b"),
    _aspect("missed_dose", "missed dose", "漏服",
            r"\bmiss(?:ed|ing)?\s+(?:a |my |\w+ )?(?:dose|doses|pill"
            r"|days?)\b|\bforg[oe]t(?:ten)?\b.{0,30}\b(?:dose|take|pill)"
            r"|\bskip(?:ped)? (?:a )?dose\b|漏服|忘记服|忘了吃",
            r"\bmissed dose\b|" + _DOSAGE_SECTIONS + r"|\binformation for patients\b|\bpatient counsel",
            r"\bmissed\b|\bmiss a dose\b|\bforget\b"),
    _aspect("stopping", "stopping or tapering", "停药",
            r"\b(?:stop|stopping|stopped|quit|quitting|come off"
            r"|coming off|discontinu\w*|taper\w*|wean\w*)\b|\bwithdrawal\b"
            r"|停药|停用|减量|戒断",
            r"\bdiscontinu\w*|\bwithdrawal\b|\bwarnings?\b|\bprecautions\b|" + _DOSAGE_SECTIONS,
            r"\bdiscontinu\w*|\bwithdraw\w*|\btaper\w*|\babrupt\w*|\bstopping\b"),
    _aspect("lactation", "breastfeeding", "哺乳",
            r"\bbreast[- ]?(?:feed\w*|milk)|\bnursing\b|\blactat\w*|\bbreastfe\w*|哺乳|母乳|喂奶",
            r"\blactation\b|\bnursing mothers\b|\bbreast[- ]?feeding\b|\bspecific populations\b",
            r"\bbreast[- ]?(?:feed\w*|milk)|\bnursing\b|\blactat\w*|\bhuman milk\b"),
    _aspect("pregnancy", "pregnancy", "妊娠",
            r"\bpregnan\w*|\bexpecting a baby\b|\btrying to conceive\b|\bconcei\w*|\bfetus\b|\bbirth defects?\b"
            r"|妊娠|孕妇|怀孕|孕期|备孕",
            r"\bpregnan\w*|\bspecific populations\b|\bteratogen\w*",
            r"\bpregnan\w*|\bfetal\b|\bfetus\b|\bteratogen\w*|\bbirth defects?\b"),
    _aspect("pediatric", "use in children", "儿童用药",
            r"\bchild(?:ren)?\b|\bkids?\b|\binfants?\b|\bbab(?:y|ies)\b|\btoddlers?\b|\bpediatric\w*|\bpaediatric\w*"
            r"|\b\d{1,2}[- ]?(?:year|yr)[- ]?old (?:boy|girl|child|son|daughter)\b|\bage limits?\b|儿童|小儿|婴儿|幼儿",
            r"\bpediatric\b|\bchildren\b|\bspecific populations\b|" + _DOSAGE_SECTIONS,
            r"\bpediatric\w*|\bchildren\b|\binfants?\b|\byears of age\b|\bunder \d+ years\b"),
    _aspect("geriatric", "use in older adults", "老年人用药",
            r"\belderly\b|\bolder (?:adults?|people|patients)\b|\bseniors?\b"
            r"|\bgeriatric\w*|\b[6-9]\d[- ]?(?:year|yr)[- ]?old\b"
            r"|老年|老人",
            r"\bgeriatric\b|\bspecific populations\b",
            r"\bgeriatric\b|\belderly\b|\bolder (?:adults?|patients)\b|\b65 years\b"),
    _aspect("renal", "use in kidney disease", "肾功能不全",
            r"\bkidneys?\b|\brenal\b|\bdialysis\b|\bcreatinine clearance\b|肾",
            r"\brenal\b|\bkidney\b|\bspecific populations\b|" + _DOSAGE_SECTIONS,
            r"\brenal\b|\bkidney\b|\bcreatinine clearance\b|\bdialysis\b"),
    _aspect("hepatic", "use in liver disease", "肝功能不全",
            r"\bliver\b|\bhepatic\b|\bcirrhosis\b|肝",
            r"\bhepatic\b|\bliver\b|\bspecific populations\b|" + _DOSAGE_SECTIONS,
            r"\bhepatic\b|\bliver\b|\bcirrhosis\b"),
    _aspect("interaction", "interactions", "相互作用",
            r"\binteract\w*|\btogether\b|\bcombin\w*|\bmix(?:ed|ing)?\b"
            r"|\b(?:take|taking|took|use|using|eat|drink)\b.{0,40}"
            r"\b(?:with|while on|while taking|and)\b|\bwith\b.{0,30}\b(?:alcohol|food|grapefruit|juice|coffee|milk)\b"
            r"|\bnot (?:to )?(?:take|be taken|mix) with\b|\bcompatible\b|\bfoods? (?:to avoid|should)\b|\bwhile on\b"
            r"|相互作用|合用|同服|一起(?:吃|服用?|用)|同时(?:吃|服用?|用)",
            r"\binteractions?\b", r"\binteract\w*|\bconcomitant\w*|\bcoadminist\w*|\bco-administ\w*"),
    _aspect("contraindication", "contraindications", "禁忌",
            r"\bcontra[- ]?indicat\w*|\bwho (?:should|must|can) ?not (?:take|use)\b|\bshould(?:n't| not) (?:take|use)\b"
            r"|\bwhen (?:not to|should i not) (?:take|use)\b|禁忌|禁用|不能(?:吃|用|服用?)",
            r"\bcontraindications?\b|\bdo not use\b", r"\bcontraindicat\w*|\bdo not use\b|\bshould not be used\b"),
    _aspect("side_effects", "side effects", "不良反应",
            r"\bside[- ]?effects?\b|\badverse\b|\breactions?\b"
            r"|\b(?:can|does|do|did|will|could|may|might)\b[^?]{0,40}\bcause\b"
            r"|\bmake (?:me|you|him|her) (?:feel|sick)\b"
            r"|\brash\w*|\bnause\w*|\bdizz\w*|\bbleed\w*|\bbruis\w*"
            r"|\bhair loss\b|\bweight gain\b|\baddict\w*|\bhow will i feel\b"
            r"|\bwhy am i\b|不良反应|副作用|副反应",
            r"\badverse reactions?\b|\bside effects?\b",
            r"\badverse\b|\bside effects?\b|\breactions?\b"),
    _aspect("warnings", "warnings", "警告",
            r"\bwarnings?\b|\bprecautions?\b|\bsafe\b|\bsafety\b|\bdanger\w*|\brisks?\b|\bharm\w*|\bdrive\b|\balcohol\b"
            r"|警告|注意事项|安全|风险",
            r"\bwarnings?\b|\bprecautions\b|\bboxed warning\b|\bask a doctor\b|\bstop use\b|\bdo not use\b",
            r"\bwarn\w*|\bcaution\w*|\brisk\w*"),
    _aspect("administration", "how to take it", "用法",
            r"\bhow (?:to|do (?:i|you)|should (?:i|you|it be)"
            r"|is it) (?:take|use|inject|apply|give|administer|dilute|prep"
            r"|prepare|mix)\w*|\bbefore (?:a |each )?meals?\b"
            r"|\bafter (?:a |each )?meals?\b|\bwith food\b|\bempty stomach\b"
            r"|\bwhen (?:to|should i|do i) take\b|\bwhat time\b"
            r"|\bat night\b|\bin the morning\b|\binfusion\b|\binject\w*"
            r"|\bcan i eat\b|用法|怎么(?:吃|服用?|用)|如何(?:服用?|使用)|饭前|饭后|空腹",
            _DOSAGE_SECTIONS + r"|\binformation for patients\b|\bhow supplied\b",
            r"\bwith(?:out)? (?:food|meals?|water|milk)\b|\b(?:before"
            r"|after) (?:a |each |the )?(?:meals?|breakfast|eating)\b"
            r"|\bempty stomach\b|\bswallow\w*|\bchew\w*|\bcrush\w*|\bapply\b|\binject\w*|\binfus\w*|\bdilut\w*"
            r"|\bshould be (?:taken|given|administered)\b"
            r"|\btake\b[^.]{0,30}\b(?:daily|once|twice|times|every|with|before"
            r"|after)\b|\badminister\w*[^.]{0,30}\b(?:orally|once|twice|with|before|after|over)\b"),
    _aspect("storage", "storage", "储存",
            r"\bstor(?:e|ed|age|ing)\b|\bexpir\w*|\bshelf\b|\bfreez\w*|\brefrigerat\w*|\bstay good\b|\bdispos\w*"
            r"|\broom temperature\b|储存|保存|贮藏|过期|冷藏",
            r"\bstorage\b|\bhow supplied\b|\bstore\b|\bhandling\b|\bpackage label\b",
            r"\bstore (?:at|in|below|between|refrigerated|frozen|away)\b|\bstorage\b|°\s?[CF]\b|\broom temperature\b"
            r"|\brefrigerat\w*|\bexpir\w*|\bshelf[- ]life\b|\bkeep (?:in|at|away|out)\b|\bdo not freeze\b|\bdiscard\b"),
    _aspect("appearance", "what it looks like", "外观",
            r"\blooks? like\b|\bcolou?rs?\b|\bshape\b|\bimprint\w*"
            r"|\bpill form\b|\bwhat does (?:the )?pill\b|\bmarkings?\b"
            r"|外观|颜色|什么样",
            r"\bhow supplied\b|\bdosage forms\b|\bdescription\b|\bstorage and handling\b",
            r"\bimprint\w*|\bdebossed\b|\bengraved\b|\bembossed\b|\bscored\b|\bbisect\w*"
            r"|\b(?:tablets?|capsules?|caplets?)\b[^.]{0,60}\b(?:white|yellow|blue|pink|orange|green|red|round|oval"
            r"|peach|brown|purple|film-coated)\b"
            r"|\b(?:white|yellow|blue|pink|orange|green|red|round|oval"
            r"|peach)\b[^.]{0,40}\b(?:tablets?|capsules?|caplets?)\b"),
    _aspect("ingredients", "ingredients", "成分",
            r"\bingredients?\b|\bcontains?\b|\bwhat(?:'s| is) in\b|\bmade (?:of|from)\b|\bgluten\b"
            r"|\blactose\b|\bgelatin\b|成分|含有",
            r"\bingredients?\b|\bdescription\b|\bcomposition\b",
            r"\bingredients?\b|\beach tablet contains\b|\bcontains\b"),
    _aspect("dose", "dose", "剂量",
            r"\bdos(?:e|es|age|ing)\b|\bmgs?\b|\bmilligrams?\b|\bstrengths?\b|\bhow often (?:should|do|can|to)\b"
            r"|\bhow many (?:mgs?|milligrams?|pills?|tablets?|capsules?|caplets?|doses?|times|cc|ml|units?|puffs?"
            r"|drops?)\b|\bhow much (?:\w+ )?(?:should|can|do|to|is in|in)\b"
            r"|剂量|用量|一次(?:吃|服)|多少(?:毫克|mg)",
            _DOSAGE_SECTIONS + r"|\bdosage forms\b|\bstrengths\b",
            r"\bmg\b|\bdose\b|\bdosage\b|\bdaily\b|\bevery \d+ hours\b"),
    _aspect("brand_names", "brand names", "商品名",
            r"\bbrand(?:[- ]?names?)?\b|\btrade ?names?\b|\bgeneric (?:name|version|for)\b|\bother names?\b"
            r"|\balso (?:called|known)\b|商品名|品牌|别名",
            r"\bdescription\b|\bpackage label\b|\bprincipal display panel\b|\bhow supplied\b",
            r"®|™|\bbrand\b|\btrade ?names?\b|\bmarketed as\b"),
    _aspect("duration_of_use", "how long to take it", "疗程",
            r"\bhow long (?:should |do |can |must |will |to |does one )?(?:i |you |one |he |she |we )?"
            r"(?:take|use|be on|stay on|continue)\b|\bhow many days\b|\bfor how long\b|疗程|吃多久|服用多久|用多久",
            _DOSAGE_SECTIONS, r"\bdays?\b|\bweeks?\b|\bmonths?\b|\bduration\b|\bcontinue\w*\b"),
    _aspect("onset_duration", "onset and duration", "起效与持续时间",
            r"\bhow (?:long|fast|soon|quickly)\b|\bhow much time\b"
            r"|\bstay(?:s)? in (?:your |my |the )?(?:system|body|blood)\b"
            r"|\bhalf[- ]?life\b|\bwhen (?:will|does) (?:it|this"
            r"|\w+) (?:start|begin|kick)|\bwear off\b|多久|多长时间|起效|半衰期",
            r"\bclinical pharmacology\b|\bpharmacokinetics\b|" + _DOSAGE_SECTIONS,
            r"\bhalf-life\b|\bpeak\b|\bonset\b|\bhours?\b|\bduration\b|\belimination\b"),
    _aspect("mechanism", "how it works", "作用机制",
            r"\bhow does (?:it|this|\w+(?:\s\w+)?) (?:work|act"
            r"|affect)\w*|\bmechanism\b|\bwhat does (?:it|this|\w+) do\b"
            r"|\baffect\w* (?:the|my|your) (?:brain|body|heart|liver)\b|\b(?:therapeutic )?effect of\b|\baction of\b"
            r"|\bwhat (?:type|kind|class) of (?:drug|medication|medicine)\b|\bwhat class\b|作用机制|怎么起作用|药理",
            r"\bclinical pharmacology\b|\bmechanism of action\b|\bpharmacodynamics\b|\bdescription\b",
            r"\bmechanism\b|\binhibit\w*|\breceptor\w*|\bblock\w*|\bagonist\b|\bantagonist\b", label_aspect=False),
    _aspect("comparison", "comparison", "比较",
            r"\bcompar\w*|\bversus\b|\bvs\.?\b|\bdifference between\b|\bbetter than\b|\bsame as\b|\binstead of\b"
            r"|\bsimilar to\b|区别|比较|哪个好",
            r"\bclinical studies\b|\bindications\b", r"\bcompar\w*|\bversus\b", label_aspect=False),
    _aspect("indication", "what it is used for", "适应症",
            r"\bused (?:for|to)\b|\buse for\b|\bprescribed for\b|\bindicat\w*"
            r"|\bgood for\b|\bfor what\b|\bwhat is (?:it|\w+) for\b"
            r"|\bwhat (?:is|are) \w+(?: \w+)? (?:used )?for\b|\btreat\w*"
            r"|\bhelp (?:with|for)\b|\bwork for\b|适应症|用于|治疗|治什么",
            r"\bindications?\b|\buses?\b|\bpurpose\b", r"\bindicated\b|\bused (?:for|to)\b|\btreatment of\b"),
)
INFORMATION = _aspect("information", "general information", "概述",
                      r".", r"\bindications?\b|\buses?\b|\bpurpose\b|\bdescription\b|\bclinical pharmacology\b",
                      r"\bindicated\b|\bis a\b|\bis an\b|\bbelongs\b", label_aspect=False)
BY_NAME: dict[str, Aspect] = {a.name: a for a in (*ASPECTS, INFORMATION)}


def question_aspects(texts: tuple[str, ...] | list[str]) -> tuple[Aspect, ...]:
    """Every aspect that any of ``texts`` (a question and its English rendering) asks, most specific first;
    ``(INFORMATION,)`` when none does."""
    found = tuple(a for a in ASPECTS if any(a.cues.search(t) for t in texts))
    # "How much" with an overdose, or "maximum dose", already says dose: keep the specific one first.
    return found or (INFORMATION,)

# Words added to the question when passages are searched within the focus drug's own documents: they find
# the passage that answers the aspect even when the question words it in its own way ("too much").
ASPECT_QUERY_WORDS: dict[str, str] = {
    "overdose": "overdosage overdose toxicity",
    "max_dose": "maximum dose daily not exceed dosage",
    "missed_dose": "missed dose",
    "stopping": "discontinuation withdrawal discontinue abruptly",
    "lactation": "nursing mothers lactation breastfeeding human milk",
    "pregnancy": "pregnancy pregnant fetal",
    "pediatric": "pediatric use children",
    "geriatric": "geriatric use elderly",
    "renal": "renal impairment kidney",
    "hepatic": "hepatic impairment liver",
    "interaction": "drug interactions concomitant",
    "contraindication": "contraindications contraindicated",
    "side_effects": "adverse reactions side effects",
    "warnings": "warnings precautions",
    "administration": "administration take food",
    "storage": "store storage temperature",
    "brand_names": "brand trade name description",
    "appearance": "how supplied tablets imprint debossed",
    "ingredients": "ingredients contains each tablet",
    "dose": "dosage dose mg",
    "onset_duration": "half-life peak onset hours",
    "duration_of_use": "duration days treatment continued",
    "mechanism": "mechanism of action clinical pharmacology",
    "comparison": "",
    "indication": "indicated indications usage",
    "information": "indications usage description",
}


# An interaction question about food, drink or a habit rather than another drug ("what foods should a person
# taking warfarin eat", "grapefruit with simvastatin"): the answer must speak of such things.
FOOD_PARTNER = re.compile(r"\b(?:foods?|meals?|diet|eat|eating|grapefruit|juice|milk|dairy|spices?|herbs?|herbal"
                          r"|supplements?|coffee|tea|smok\w*|tobacco|vitamin k)\b"
                          r"|食物|饮食|西柚|葡萄柚|牛奶|吸烟", re.I)
FOOD_TERMS = re.compile(r"\b(?:foods?|meals?|diet\w*|eat\w*|grapefruit|juice|milk|dairy|vitamin k|spices?|herbs?"
                        r"|herbal|botanical\w*|supplements?|coffee|tea|caffeine|smok\w*|tobacco|cranberr\w*"
                        r"|vegetables?)\b", re.I)
