"""Question understanding (aspects, focus drugs in English and Chinese) and focus-grounded evidence.

Fast tier: the real knowledge graph files and name resolver, no index; grounding is a pure function over
passages built here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.answer.about import OFF_FOCUS, UNNAMED, off_focus
from app.answer.evidence import number_evidence
from app.drugs.names import DrugNameResolver
from app.graph_model import GraphKnowledge
from app.knowledge import load_graph_knowledge
from app.model import Chunk
from app.retrieval.aspects import ASPECTS, BY_NAME, INFORMATION, question_aspects
from app.retrieval.fusion import ChannelRank, FusedHit
from app.retrieval.grounding import OwnDocuments, ground, is_about
from app.retrieval.query import QueryAnalyzer
from app.retrieval.question import FocusDrug, QuestionFocus, QuestionReader, names_in

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture(scope="module")
def knowledge() -> GraphKnowledge:
    return load_graph_knowledge(KNOWLEDGE)


@pytest.fixture(scope="module")
def read(knowledge: GraphKnowledge) -> Callable[[str], QuestionFocus]:
    resolver = DrugNameResolver(knowledge)
    analyzer = QueryAnalyzer.from_knowledge(knowledge, KNOWLEDGE)
    # In how many indexed passages a word occurs: here, the words of this small made-up corpus.
    corpus = {"hypopigmentation": 3, "psoriatic": 3, "kadian": 1, "leptin": 3, "metamucil": 3}
    reader = QuestionReader(knowledge, lambda: resolver, lambda word: corpus.get(word, 0), analyzer.glossary_words)
    return lambda question: reader.read(analyzer.analyze(question))


# -- aspects ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "aspect"), [
    ("What is the maximum daily dose of acetaminophen?", "max_dose"),
    ("how much tylenol is too much", "overdose"),
    ("what is the normal dose of clindamycin", "dose"),
    ("how many mg does it take to overdose on oxycodone", "overdose"),
    ("Is amoxicillin safe in pregnancy?", "pregnancy"),
    ("Does warfarin pass into breast milk?", "lactation"),
    ("what are the side effects of valsartan", "side_effects"),
    ("what are contraindications for kadian", "contraindication"),
    ("can i take metamucil with ciprofloxacin?", "interaction"),
    ("what foods should a person taking warfarin eat", "interaction"),
    ("how does valium affect the brain", "mechanism"),
    ("how long does chlordiazepoxide stay in system?", "onset_duration"),
    ("how long should i take cipro for a urinary tract infection", "duration_of_use"),
    ("how long before a meal should lansoprazole be taken", "administration"),
    ("what to do if missed two days of thyroid medications", "missed_dose"),
    ("how to safely stop taking anastrozole", "stopping"),
    ("freezing clotrimazole?", "storage"),
    ("what does bumetanide pill look like", "appearance"),
    ("what color is 30mg prednisone", "appearance"),
    ("what are the inactive ingredients in norvasc", "ingredients"),
    ("what is desonide ointment used for", "indication"),
    ("what is brand name of acetaminophen", "brand_names"),
    ("is lisinopril safe for kidney disease", "renal"),
    ("can I give ibuprofen to my children", "pediatric"),
    ("compare atorvastatin versus simvastatin", "comparison"),
    ("what is morphine", "information"),
    ("What causes Glucose transporter type 1 deficiency syndrome ?", "information"),
    ("what kind of rash could pravastatin cause", "side_effects"),
    ("How many people are affected by Denys-Drash syndrome ?", "information"),
    ("how much acetaminophen in acetaminophen and codeine", "dose"),
    ("how often should you get a zoster vaccine", "dose"),
    # Chinese
    ("对乙酰氨基酚的最大日剂量是多少？", "max_dose"),
    ("阿莫西林孕妇可以用吗？", "pregnancy"),
    ("华法林的禁忌症", "contraindication"),
    ("阿托伐他汀的不良反应有哪些？", "side_effects"),
    ("华法林和阿司匹林合用的出血风险", "interaction"),
    ("哺乳期可以吃布洛芬吗", "lactation"),
    ("二甲双胍饭前还是饭后吃", "administration"),
    ("地西泮的作用机制", "mechanism"),
    ("胰岛素怎么储存", "storage"),
])
def test_question_aspect(question: str, aspect: str) -> None:
    assert question_aspects([question])[0].name == aspect


def test_every_aspect_names_sections_terms_and_both_languages() -> None:
    for aspect in ASPECTS:
        assert aspect.label and aspect.label_zh and aspect.sections.pattern and aspect.terms.pattern
    assert question_aspects(["hello there"]) == (INFORMATION,)
    assert BY_NAME["max_dose"].section_matches("Dosage and Administration")
    assert BY_NAME["lactation"].mentioned_in("Warfarin was not detected in human milk")
    assert not BY_NAME["lactation"].mentioned_in("Use in Specific Populations")


# -- focus drugs ---------------------------------------------------------------------------------------------
def _drugs(focus: QuestionFocus) -> list[tuple[str, str]]:
    return [(d.name, d.matched_by) for d in focus.drugs]


def test_generic_brand_salt_combination_and_chinese_names(read: Callable[[str], QuestionFocus]) -> None:
    assert _drugs(read("What is the maximum daily dose of acetaminophen?")) == [("Acetaminophen", "linked")]
    assert _drugs(read("how does valium affect the brain")) == [("Diazepam", "brand")]
    assert _drugs(read("wht is a normal dose daily for ativan?")) == [("Lorazepam", "brand")]
    assert [d.name for d in read("clopidogrel bisulfate 75 mg dose").drugs] == ["Clopidogrel"]
    assert {d.name for d in read("how much acetaminophen in acetaminophen and codeine").drugs} == {
        "Acetaminophen", "Codeine"}
    focus = read("对乙酰氨基酚的最大日剂量是多少？")
    assert [d.name for d in focus.drugs] == ["Acetaminophen"] and focus.aspect.name == "max_dose"
    pair = read("华法林和阿司匹林合用的出血风险")
    assert {d.name for d in pair.drugs} == {"Warfarin", "Acetylsalicylic acid"}
    assert "华法林" in pair.subject_names() and "aspirin" in pair.subject_names()


def test_misspelling_is_read_as_a_drug_and_said(read: Callable[[str], QuestionFocus]) -> None:
    focus = read("how long does rivatigmine stay in the body")
    assert _drugs(focus) == [("Rivastigmine", "misspelling")]
    assert focus.assumed and "rivatigmine" in focus.display_name()
    assert "rivatigmine" not in focus.subject_names()  # never used to find passages


def test_brand_that_is_a_common_word_does_not_name_a_drug(read: Callable[[str], QuestionFocus]) -> None:
    # "Equal" is a brand of aspartame in the graph.
    assert read("are the side effects equal for men and women").drugs == ()


def test_abbreviation_base_name_and_unknown_chinese_name(read: Callable[[str], QuestionFocus]) -> None:
    assert _drugs(read("how long i take cipro for a urinary tract infection ?")) == [
        ("Ciprofloxacin", "abbreviation")]
    assert [d.name for d in read("what is the dose for vit b12 tabet?").drugs] == ["Cyanocobalamin"]
    insulin = read("How should insulin be stored?")
    assert [d.matched_by for d in insulin.drugs] == ["base name"] and insulin.aspect.name == "storage"
    assert _drugs(read("地西泮过量有什么症状？")) == [("Diazepam", "linked")]  # 安定 and, now, 地西泮
    focus = read("度普利尤单抗过量有什么症状？")  # dupilumab: no name of the graph, no passage
    assert focus.drugs == () and focus.unknown_names == ("度普利尤单抗",)
    # The segmenter cuts a transliterated name into frequent-looking pieces ("奥马" "珠" "单抗"): joined again.
    assert read("奥马珠单抗的副作用").unknown_names == ("奥马珠单抗",)
    assert read("增强抵抗力吃什么好").unknown_names == ()  # an everyday phrase is no drug name


def test_a_product_named_only_in_passages_is_the_focus(read: Callable[[str], QuestionFocus]) -> None:
    focus = read("what are contraindications for kadian")
    assert [c.id for c in focus.classes] == ["name:kadian"] and focus.subject_names() == ("kadian",)
    # A rare word in a question that asks nothing of a medicine stays a plain word, and the knowledge's own
    # vocabulary is never read as a misspelled drug.
    assert read("what medications can induce hypopigmentation of skin?").classes == ()
    assert read("Is hypopigmentation common after psoriatic plaques heal?").classes == ()
    leptin = read("Are serum leptin levels a prognostic factor in advanced lung cancer?")
    assert leptin.drugs == () and leptin.classes == () and leptin.unknown_names == ()
    assert read("Is insulin resistance inherited?").drugs == ()  # no base name where no medicine is asked of
    pair = read("can i take metamucil with ciprofloxacin?")
    assert [d.name for d in pair.drugs] == ["Ciprofloxacin"] and [c.name for c in pair.classes] == ["metamucil"]


def test_drug_class(read: Callable[[str], QuestionFocus]) -> None:
    focus = read("what medicine besides statins lower cholesterol?")
    assert [c.name for c in focus.classes] == ["Statins"] and focus.names_a_subject
    assert "statins" in focus.subject_names()


def test_unknown_product_names(read: Callable[[str], QuestionFocus]) -> None:
    assert read("what is zorvastin used for").unknown_names == ("zorvastin",)
    # A rare word that the indexed passages use is vocabulary, not an unknown product.
    assert read("what medications can induce hypopigmentation of skin?").unknown_names == ()
    assert read("What is the capital of France?").unknown_names == ()


def test_names_in_matches_whole_words_and_chinese() -> None:
    assert names_in("Take ACETAMINOPHEN with water", ["acetaminophen"])
    assert not names_in("acetaminophenol", ["acetaminophen"])
    assert names_in("华法林的剂量", ["华法林"])


# -- grounding ------------------------------------------------------------------------------------------------
def _hit(doc_id: str, title: str, section: str, text: str, source_type: str = "label", score: float = 1.0) -> FusedHit:
    chunk = Chunk(doc_id=doc_id, version="v1", ordinal=0, section=section, start=0, end=len(text), text=text,
                  title=title, source_type=source_type)
    return FusedHit(chunk, score, {"bm25": ChannelRank(1, score)})


ACETAMINOPHEN = FocusDrug("DB00316", "Acetaminophen", "acetaminophen", "linked", ("acetaminophen", "paracetamol"))
WARFARIN = FocusDrug("DB00682", "Warfarin", "warfarin", "linked", ("warfarin", "华法林"))
ASPIRIN = FocusDrug("DB00945", "Acetylsalicylic acid", "aspirin", "linked", ("acetylsalicylic acid", "aspirin"))
OWN_LABEL = _hit("label:apap", "ACETAMINOPHEN — FDA label", "Dosage and Administration",
                 "do not take more than 6 caplets in 24 hours")
OTHER_LABEL = _hit("label:lithostat", "LITHOSTAT — FDA label", "Dosage and Administration",
                   "The maximum daily dose should be no more than 1.5 grams, regardless of body weight.")
OTHER_LABEL_NAMING = _hit("label:codeine", "CODEINE — FDA label", "Warnings",
                          "Do not use with other products containing acetaminophen.")
ABSTRACT = _hit("pubmed:1", "Paracetamol and liver injury", "Results",
                "Paracetamol doses above 4 g per day caused liver injury, a serious adverse reaction.", "evidence")
UNRELATED = _hit("pubmed:2", "Stroke outcomes", "Results", "Brain tumours were rare.", "evidence")


def _focus(*drugs: FocusDrug, aspect: str = "max_dose") -> QuestionFocus:
    return QuestionFocus(drugs=drugs, aspects=(BY_NAME[aspect],))


def _own(labels: dict[str, list[str]], sections: tuple[str, ...] = ()) -> OwnDocuments:
    return OwnDocuments(labels, {}, lambda doc_id: ("title", sections))


def test_only_passages_about_the_drug_are_evidence() -> None:
    focus = _focus(ACETAMINOPHEN)
    own = _own({"DB00316": ["label:apap"]})
    grounding = ground(focus, [OTHER_LABEL, OTHER_LABEL_NAMING, UNRELATED, ABSTRACT], [OWN_LABEL], own, 8)
    assert grounding.abstention is None
    assert [h.chunk.doc_id for h in grounding.hits] == ["label:apap", "pubmed:1"]  # own aspect section leads
    assert {h.chunk.doc_id for h in grounding.related} == {"label:lithostat", "label:codeine", "pubmed:2"}
    # The labels do not speak of side effects, but the abstract that names it does: it answers.
    harms = ground(_focus(ACETAMINOPHEN, aspect="side_effects"), [OTHER_LABEL, ABSTRACT, UNRELATED],
                   [OWN_LABEL], own, 8)
    assert harms.abstention is None and [h.chunk.doc_id for h in harms.hits] == ["pubmed:1", "label:apap"]
    # Another drug's label naming the drug is about that drug, except for an interaction question.
    assert not is_about(OTHER_LABEL_NAMING, focus, frozenset({"label:apap"}))
    assert is_about(OTHER_LABEL_NAMING, _focus(ACETAMINOPHEN, aspect="interaction"), frozenset())
    # Of a pair, a third drug's label is about the third drug, even when it names both.
    third = _hit("label:atomoxetine", "Atomoxetine — FDA label", "Drug Interactions",
                 "Atomoxetine did not affect the binding of warfarin, acetylsalicylic acid or diazepam to albumin.")
    assert not is_about(third, _focus(WARFARIN, ASPIRIN, aspect="interaction"), frozenset())


def test_no_label_abstention_names_the_drug_and_what_is_held() -> None:
    focus = _focus(ACETAMINOPHEN, aspect="pregnancy")
    grounding = ground(focus, [OTHER_LABEL_NAMING, UNRELATED], [], _own({}), 8)
    assert grounding.hits == [] and grounding.abstention is not None
    assert grounding.abstention.case == "no_label"
    message = grounding.abstention.message()
    assert message.startswith("The indexed knowledge has no label for acetaminophen.")
    assert "CODEINE — FDA label" in message  # what it does hold, not cited
    assert "说明书" in grounding.abstention.message("zh")
    # An abstract that names it is evidence; should it not answer, the answer still says there is no label.
    focus = _focus(ACETAMINOPHEN, aspect="side_effects")
    grounding = ground(focus, [OTHER_LABEL_NAMING, ABSTRACT], [], _own({}), 8)
    assert [h.chunk.doc_id for h in grounding.hits] == ["pubmed:1"] and grounding.abstention is None
    assert grounding.fallback is not None and grounding.fallback.case == "no_label"


def test_aspect_not_addressed_lists_the_sections_held() -> None:
    focus = _focus(WARFARIN, aspect="lactation")
    held = _hit("label:warfarin", "WARFARIN — FDA label", "Contraindications",
                "Warfarin is contraindicated in pregnancy.")
    own = _own({"DB00682": ["label:warfarin"]}, ("Contraindications", "Dosage and Administration"))
    grounding = ground(focus, [held], [held], own, 8)
    assert grounding.abstention is not None and grounding.abstention.case == "aspect_not_addressed"
    assert grounding.abstention.message() == ("The indexed labels of warfarin do not address breastfeeding. "
                                              "They hold these sections: Contraindications, Dosage and Administration.")


def test_unknown_name_abstention() -> None:
    focus = QuestionFocus(aspects=(BY_NAME["indication"],), unknown_names=("zorvastin",))
    grounding = ground(focus, [UNRELATED], [], _own({}), 8)
    assert grounding.abstention is not None and grounding.abstention.case == "unknown_name"
    assert "'zorvastin'" in grounding.abstention.message()
    # An interaction with something unknown: the known drug's other interactions are not the answer.
    pair = QuestionFocus(drugs=(WARFARIN,), aspects=(BY_NAME["interaction"],), unknown_names=("metamucil",))
    assert ground(pair, [OWN_LABEL], [], _own({"DB00682": ["x"]}), 8).abstention is not None


def test_two_drug_question_keeps_both_and_leads_with_passages_naming_both() -> None:
    focus = _focus(WARFARIN, ASPIRIN, aspect="interaction")
    warfarin_only = _hit("label:warfarin", "WARFARIN — FDA label", "Drug Interactions",
                         "Warfarin interacts with many drugs.")
    both = _hit("onc-high:DB00682", "Warfarin — ONC high-priority drug–drug interactions", "Warfarin + Aspirin",
                "Warfarin and aspirin: increased risk of bleeding.", "interaction")
    aspirin_abstract = _hit("pubmed:3", "Aspirin in primary prevention", "Results", "Aspirin reduced events.",
                            "evidence")
    own = OwnDocuments({"DB00682": ["label:warfarin"]}, {"DB00682": ["onc-high:DB00682"]}, lambda d: None)
    grounding = ground(focus, [aspirin_abstract, warfarin_only, both, UNRELATED], [warfarin_only, both], own, 8)
    ids = [h.chunk.doc_id for h in grounding.hits]
    assert ids[0] in ("label:warfarin", "onc-high:DB00682") and "pubmed:3" in ids and "pubmed:2" not in ids
    assert ids.index("onc-high:DB00682") < ids.index("pubmed:3")


def test_the_hospitals_local_rule_on_the_focus_comes_first() -> None:
    focus = _focus(WARFARIN, ASPIRIN, aspect="interaction")
    warfarin_label = _hit("label:warfarin", "WARFARIN — FDA label", "Drug Interactions",
                          "Aspirin and warfarin together increase bleeding.")
    rule = _hit("rule:pt-1", "Local rule pt-1: warfarin + aspirin (interaction, high)", "Rule",
                "With warfarin, aspirin only on the anticoagulation service's advice.", "local_rule", score=0.2)
    other_rule = _hit("rule:pt-2", "Local rule pt-2: warfarin + omeprazole (interaction, low)", "Rule",
                      "Warfarin with omeprazole: check the INR.", "local_rule", score=0.9)
    own = OwnDocuments({"DB00682": ["label:warfarin"]}, {}, lambda d: None)
    grounding = ground(focus, [warfarin_label, other_rule, rule], [warfarin_label], own, 8)
    ids = [h.chunk.doc_id for h in grounding.hits]
    assert ids[0] == "rule:pt-1" and ids.index("label:warfarin") < ids.index("rule:pt-2")  # a rule on the pair


def test_a_pair_no_passage_names_together_is_said() -> None:
    focus = _focus(WARFARIN, ASPIRIN, aspect="interaction")
    warfarin_only = _hit("label:warfarin", "WARFARIN — FDA label", "Drug Interactions",
                         "Warfarin interacts with many drugs.")
    own = OwnDocuments({"DB00682": ["label:warfarin"]}, {}, lambda d: None)
    grounding = ground(focus, [warfarin_only], [warfarin_only], own, 8)
    assert grounding.abstention is not None and grounding.abstention.case == "pair_not_addressed"
    assert grounding.abstention.message().startswith(
        "No indexed passage speaks of warfarin and acetylsalicylic acid (aspirin) together.")


def test_a_question_naming_no_drug_is_left_as_searched() -> None:
    focus = QuestionFocus(aspects=(INFORMATION,))
    grounding = ground(focus, [UNRELATED, ABSTRACT], [], _own({}), 1)
    assert grounding.hits == [UNRELATED] and grounding.abstention is None


# -- claims about another drug --------------------------------------------------------------------------------
def test_off_focus_claims() -> None:
    focus = _focus(ACETAMINOPHEN)

    def named(text: str) -> set[str]:
        return {"DB01166"} if "cilostazol" in text.lower() else set()

    evidence = number_evidence([OWN_LABEL, ABSTRACT, UNRELATED])
    own = frozenset({"label:apap"})
    assert off_focus("Cilostazol maximum dose is 100 mg.", focus, named, evidence[:1], own) == OFF_FOCUS
    assert off_focus("Do not take more than 6 caplets in 24 hours.", focus, named, evidence[:1], own) is None
    assert off_focus("Brain tumours were rare.", focus, named, evidence[2:], own) == UNNAMED
    assert off_focus("Doses above 4 g per day caused liver injury.", focus, named, evidence[1:2], own) is None
    # An interaction question is about the other drug too.
    assert off_focus("Cilostazol raises levels.", _focus(ACETAMINOPHEN, aspect="interaction"), named) is None
    assert off_focus("anything", QuestionFocus(aspects=(INFORMATION,)), named) is None


@pytest.mark.parametrize("aspect, heading, words", [
    ("contraindication", "禁忌", "以下情况禁用本品"),
    ("dose", "用法用量", "每日一次"),
    ("side_effects", "不良反应", "最常见的副作用是出血"),
    ("interaction", "药物相互作用", "与阿司匹林合用增加出血风险"),
    ("storage", "贮藏", "避光，密闭保存"),
    ("pregnancy", "孕妇及哺乳期妇女用药", "妊娠期妇女禁用"),
    ("overdose", "药物过量", "过量可引起出血"),
])
def test_a_chinese_instructions_sections_answer_their_aspects(aspect: str, heading: str, words: str) -> None:
    """The 【…】 sections of a Chinese 说明书 are the label sections of each aspect, and their words speak of it."""
    assert BY_NAME[aspect].section_matches(heading)
    assert BY_NAME[aspect].mentioned_in(words)
    assert not BY_NAME["contraindication"].section_matches("不良反应")
