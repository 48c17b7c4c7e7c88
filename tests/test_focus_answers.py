"""Answers about the drug that was asked, over the whole starter knowledge (extractive, no LLM):
focus-grounded evidence, the scoped abstentions, readable extractive answers, English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.answer.ask import QUOTES_IN_ENGLISH, Asker, AskRequest
from app.answer.factory import close_asker
from app.answer.generator import GenerationRequest
from app.compose import open_asker
from app.retrieval.question import names_in
from app.retrieval.search import Searcher
from app.runtime import Runtime

from .answer_support import ScriptedGenerator, assert_grounded

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def asker(starter_searcher: Searcher, starter_runtime: Runtime) -> Iterator[Asker]:
    engine = open_asker(starter_runtime, starter_searcher)
    yield engine
    close_asker(engine)


def _about(answer: dict[str, Any], *names: str) -> bool:
    """Every citation names one of ``names`` in its title or quote (the benchmark's off-topic rule)."""
    return all(names_in(f"{c['title']} {c['quote']}", names) for c in answer["citations"])


def test_maximum_dose_leads_with_the_drugs_own_dosing_sentence(asker: Asker) -> None:
    answer = asker.ask(AskRequest("What is the maximum daily dose of acetaminophen?"))
    assert not answer["abstained"] and answer["focus"]["aspect"] == "max_dose"
    assert_grounded(answer, asker.searcher)
    first = answer["citations"][0]
    assert "ACETAMINOPHEN" in first["title"] and first["section"] == "Dosage and Administration"
    assert answer["answer"].startswith(first["quote"].strip().rstrip("."))  # the lead is that sentence
    assert any(ch.isdigit() for ch in answer["answer"].split("[")[0])  # with its amount
    assert _about(answer, "acetaminophen", "tylenol")
    assert "•" not in answer["answer"]
    assert answer["related"]  # other drugs' maximum doses are shown apart, never cited
    assert all(r["doc_id"] not in {c["doc_id"] for c in answer["citations"]} for r in answer["related"])


def test_a_drug_without_a_label_gets_the_no_label_abstention(asker: Asker) -> None:
    answer = asker.ask(AskRequest("Is cetirizine safe in pregnancy?"))
    assert answer["abstained"] and answer["abstain_case"] == "no_label"
    assert answer["answer"].startswith("The indexed knowledge has no label for cetirizine.")
    assert answer["citations"] == [] and answer["claims"] == []
    zh = asker.ask(AskRequest("西替利嗪孕妇可以用吗？"))
    assert zh["abstain_case"] == "no_label" and zh["answer"].startswith("现有索引知识中没有")
    assert zh["citations"] == []


def test_a_label_that_holds_only_its_indications_says_so(asker: Asker) -> None:
    # Amoxicillin's only indexed label is its LabeledIn Indications and Usage section.
    answer = asker.ask(AskRequest("Is amoxicillin safe in pregnancy?"))
    assert answer["abstained"] and answer["abstain_case"] == "aspect_not_addressed"
    assert answer["answer"] == ("The indexed labels of amoxicillin do not address pregnancy. They hold these "
                                "sections: Indications and Usage.")
    assert answer["citations"] == []


def test_a_brand_question_is_answered_about_the_generic_or_says_what_its_labels_hold(asker: Asker) -> None:
    answer = asker.ask(AskRequest("how does valium affect the brain"))
    assert [d["name"] for d in answer["focus"]["drugs"]] == ["Diazepam"]
    if answer["abstained"]:  # its labels hold indications only, and no other passage says how it works
        assert answer["abstain_case"] == "aspect_not_addressed" and "diazepam (valium)" in answer["answer"]
        assert "They hold these sections: Indications and Usage" in answer["answer"]
    else:
        assert _about(answer, "diazepam", "valium")
    assert "tumour" not in answer["answer"].lower() and "stroke" not in answer["answer"].lower()


def test_an_aspect_the_labels_do_not_address_is_said_with_the_sections_they_hold(asker: Asker) -> None:
    # The indexed oxycodone label is its Drug Interactions / Clinical Pharmacology sections only.
    answer = asker.ask(AskRequest("how many mg does it take to overdose on oxycodone"))
    assert answer["abstain_case"] == "aspect_not_addressed", answer["answer"]
    assert answer["answer"].startswith("The indexed labels of oxycodone do not address overdose.")
    assert "Drug Interactions" in answer["answer"] and answer["citations"] == []


def test_an_unknown_product_name_is_said(asker: Asker) -> None:
    answer = asker.ask(AskRequest("what is zorvastin used for"))
    assert answer["abstain_case"] == "unknown_name"
    assert answer["answer"] == "The indexed knowledge has no drug or document that names 'zorvastin'."


def test_lactation_question_is_answered_from_the_lactation_passage(asker: Asker) -> None:
    answer = asker.ask(AskRequest("Does warfarin pass into breast milk?"))
    assert not answer["abstained"] and _about(answer, "warfarin")
    assert_grounded(answer, asker.searcher)
    assert "milk" in answer["citations"][0]["quote"]


def test_chinese_question_gets_the_same_evidence_and_says_the_quotes_are_english(asker: Asker) -> None:
    zh = asker.ask(AskRequest("对乙酰氨基酚的最大日剂量是多少？"))
    en = asker.ask(AskRequest("What is the maximum daily dose of acetaminophen?"))
    assert zh["answer"].startswith(QUOTES_IN_ENGLISH)
    assert_grounded(zh, asker.searcher)
    assert zh["citations"][0]["doc_id"] == en["citations"][0]["doc_id"]
    assert zh["citations"][0]["section"] == "Dosage and Administration"


def test_two_drug_question_keeps_both(asker: Asker) -> None:
    answer = asker.ask(AskRequest("Does amiodarone interact with warfarin?"))
    assert not answer["abstained"]
    assert {d["name"] for d in answer["focus"]["drugs"]} == {"Amiodarone", "Warfarin"}
    assert _about(answer, "amiodarone", "warfarin", "nexterone")
    assert any(names_in(c["quote"], ["amiodarone"]) and names_in(c["quote"], ["warfarin"])
               for c in answer["citations"])


def test_a_question_naming_no_drug_behaves_as_before(asker: Asker) -> None:
    answer = asker.ask(AskRequest("What causes von Hippel-Lindau syndrome?"))
    assert not answer["abstained"] and answer["focus"]["drugs"] == []
    assert answer["abstain_case"] is None and answer["related"] == []


def test_llm_claim_about_another_drug_is_not_kept(asker: Asker, starter_searcher: Searcher,
                                                  starter_runtime: Runtime) -> None:
    """The verifier keeps a supported claim only when it is about the asked drug (any generator)."""

    def write(request: GenerationRequest) -> str:
        assert "about acetaminophen" in request.messages[1]["content"]  # the prompt names focus and aspect
        dosing = next(ev for ev in request.evidence if ev.chunk.section == "Dosage and Administration")
        other = "Aspirin may increase the risk of bleeding."
        return f"Do not take more than 6 caplets in 24 hours [{dosing.n}]. {other} [{dosing.n}]"

    llm = open_asker(starter_runtime, starter_searcher, generator=ScriptedGenerator(write))
    try:
        answer = llm.ask(AskRequest("What is the maximum daily dose of acetaminophen?"))
    finally:
        close_asker(llm)
    kept = [c for c in answer["claims"] if c["supported"]]
    dropped = [c for c in answer["claims"] if not c["supported"]]
    assert [c["text"] for c in kept] == ["Do not take more than 6 caplets in 24 hours."]
    assert dropped and "Aspirin" in dropped[0]["text"]


def test_side_effects_lead_with_the_labels_summary_when_it_names_the_drug_by_brand(asker: Asker) -> None:
    # The ACTEMRA label names tocilizumab mostly in sentences about antibodies; its Adverse Reactions section
    # opens with the summary, which says "ACTEMRA" only in its title.  The question's generic name must not
    # decide which sentence of the drug's own label leads.
    answer = asker.ask(AskRequest("what are the side effects of tocilizumab"))
    assert not answer["abstained"]
    assert answer["answer"].startswith("Most common adverse reactions (incidence of at least 5%): upper "
                                       "respiratory tract infections"), answer["answer"]
    first = next(c for c in answer["citations"] if c["n"] == int(answer["answer"].split("[", 1)[1].split("]")[0]))
    assert first["doc_id"] == "spl-adr:actemra" and first["section"] == "Adverse Reactions"


def test_a_lead_in_left_open_by_a_heading_is_no_answer(asker: Asker) -> None:
    answer = asker.ask(AskRequest("what is pantoprazole used for"))
    assert not answer["abstained"] and _about(answer, "pantoprazole", "protonix")
    sentences = [s.strip() for s in answer["answer"].split("\n") if s.strip()]
    assert not any(s.split(" [")[0].rstrip().endswith(("indicated for", "indicated")) for s in sentences)
    assert "Erosive Esophagitis" in answer["answer"]
