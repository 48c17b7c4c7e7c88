"""``Asker.stream``: the one answer function every interface calls (REST JSON and SSE, CLI).

question → standalone rewrite → hybrid search → focus-grounded evidence (the passages about what the question
names, or the scoped abstention: ``retrieval/grounding.py``) → relevance floor (the hits' dense similarity) →
generator (streamed) → claims verified one by one as they complete, and checked to be about the asked drug → only
supported claims are sent → citations cut, once, from the evidence passages → the reviewers' unsafe flags on the
evidence it cites (``review_notes``) → an ``Answer`` (``app/model.py``) → trace saved.  An unsupported claim is
never streamed: ``delta`` events carry verified sentences only, so what a client shows is what the final answer
says.  The answer path reads no index store: the search hands it the passages, the facts' passages and the
similarities (the reviews' flags are one indexed query of the review store, ``review_notes``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.answer.about import DrugsNamed, off_focus
from app.answer.citations import STALE, build_citations, drop_stale, stale_passages
from app.answer.claims import DroppedMarks, complete_claims, parse_answer, render_claim, split_claims
from app.answer.conversation import rewrite_follow_up
from app.answer.evidence import Evidence, number_evidence
from app.answer.generator import GenerationRequest, Generator, GeneratorError
from app.answer.prompt import ABSTAIN_TOKEN, PROMPT_VERSION, answer_messages
from app.answer.verify import CheckedClaim, Verifier
from app.config import Settings
from app.model import Answer, AnswerClaim, SearchFilters
from app.observability.logs import REQUEST_ID
from app.retrieval.fusion import FusedHit
from app.retrieval.question import QuestionFocus
from app.retrieval.search import Searcher
from app.stores.traces import TraceStore

ABSTENTION = {
    "en": "The indexed evidence does not answer this question.",
    "zh": "现有索引证据不足以回答这个问题。",
}
# Said before the quotes of an extractive answer to a Chinese question when the quotes are English.
QUOTES_IN_ENGLISH = "以下为英文原文证据摘录（未经翻译）："
# Said before an LLM's English answer to a Chinese question: with an encoder that reads English only, the verifier
# can check an English answer sentence by sentence against the (English) evidence, but not a Chinese one.
ANSWER_IN_ENGLISH = "以下回答为英文：本服务的核验模型只能逐句核对英文回答与英文证据。"

Event = tuple[str, dict[str, Any]]


class ConversationNotFound(LookupError):
    """A conversation that is not the caller's: it cannot be continued (nor confirmed to exist)."""


@dataclass(frozen=True)
class AskRequest:
    question: str
    k: int | None = None
    filters: SearchFilters | None = None
    conversation_id: str | None = None
    include_reasoning: bool = False
    caller: str | None = None  # the API key id or OIDC subject that asked (audit)


class _Run:
    """What one answer accumulates while it streams."""

    def __init__(self) -> None:
        self.raw = ""
        self.reasoning = ""
        self.claims: list[CheckedClaim] = []
        self.dropped_marks: list[DroppedMarks] = []  # citation marks of the output that belong to no claim
        self.sent: list[str] = []
        self.done = 0  # claims of ``raw`` already verified
        self.errors: list[str] = []
        self.verify_ms = 0.0
        self.first_delta_ms: float | None = None
        self.generator_start: float | None = None  # perf_counter when the generator was called
        self.text_at = 0.0  # perf_counter when the latest answer text arrived from it
        self.first_text_ms: float | None = None  # the generator's own time to the text of the first delta
        self.usage: dict[str, int] | None = None  # the LLM server's token counts, when it reports them
        self.focus: QuestionFocus = QuestionFocus()  # what the question is about: claims must be too
        self.own_documents: frozenset[str] = frozenset()
        self.note_pending = ""  # said before the first sentence (a Chinese question quoted in English)
        self.note = ""


class Asker:
    def __init__(self, searcher: Searcher, generator: Generator, extractive: Generator, verifier: Verifier,
                 traces: TraceStore, settings: Settings, drugs_named: DrugsNamed | None = None) -> None:
        self.searcher = searcher
        self.settings = settings
        self.generator = generator
        self.extractive = extractive
        self.verifier = verifier
        self.traces = traces
        self.drugs_named: DrugsNamed = drugs_named or (lambda text: set())
        self.answer_observers: list[Callable[[dict[str, Any]], None]] = []  # each finished answer, e.g. metrics
        # (citations, evidence) -> the unsafe flags of reviewers on that evidence (ReviewStore.notes_for; wired by
        # app/compose.py): shown with the answer, so a later answer on flagged evidence carries the note.
        self.review_notes: Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]] | None = None

    def warm_up(self) -> None:
        """Run the verifier's encoder once: its first call builds the model's kernels (about 0.3 s), which
        the first answer of a fresh server would otherwise wait for."""
        self.verifier.embed(["Warfarin increases the risk of bleeding."])

    def may_continue(self, conversation_id: str, caller: str | None) -> bool:
        """Whether ``caller`` may add a turn to ``conversation_id``: a new id, or one that caller began."""
        exists, owner = self.traces.conversation_owner(conversation_id)
        return not exists or owner == caller

    # -- the whole answer --------------------------------------------------------------------
    def ask(self, request: AskRequest) -> dict[str, Any]:
        response: dict[str, Any] = {}
        for name, data in self.stream(request):
            if name == "done":
                response = data
        return response

    def stream(self, request: AskRequest) -> Iterator[Event]:
        settings = self.settings
        t0 = time.perf_counter()
        conversation_id = request.conversation_id or uuid.uuid4().hex
        if request.conversation_id and not self.may_continue(request.conversation_id, request.caller):
            raise ConversationNotFound(request.conversation_id)
        history = self.traces.conversation(conversation_id, request.caller) if request.conversation_id else []
        rewrite = rewrite_follow_up(request.question, history, self.searcher.query_analyzer, self.generator)
        k = request.k or settings.answer_evidence_k
        result = self.searcher.search(rewrite.question, k, request.filters)
        grounding = self.searcher.ground(result, k, request.filters)  # the passages about what it asks
        original = (result.query if rewrite.question == request.question
                    else self.searcher.query_analyzer.analyze(request.question))
        language = "zh" if original.language in ("zh", "mixed") else "en"
        evidence = number_evidence(grounding.hits)
        related = [related_json(h) for h in grounding.related]
        retrieve_ms = (time.perf_counter() - t0) * 1000
        yield "evidence", {"evidence": [ev.to_json() for ev in evidence], "facts": result.facts,
                           "standalone_question": rewrite.question, "related": related}
        relevance = max((ev.similarity or 0.0 for ev in evidence), default=0.0)
        run = _Run()
        if rewrite.error:
            run.errors.append(f"rewrite: {rewrite.error}")
        generator = self.generator
        degraded = False
        abstain_reason: str | None = None
        abstain_case: str | None = None
        focus = grounding.focus
        answer_language = "en" if self._answers_in_english(generator, original.language) else original.language
        messages = answer_messages(rewrite.question, evidence, original.language, focus, answer_language)
        t1 = time.perf_counter()
        if grounding.abstention is not None:
            abstain_reason, abstain_case = grounding.abstention.message(language), grounding.abstention.case
        elif not evidence or (relevance < settings.answer_min_relevance and not grounding.from_own_label()):
            floor = settings.answer_min_relevance
            abstain_reason = f"no evidence reaches the relevance floor ({relevance:.2f} < {floor:.2f})"
            abstain_case = "below_relevance_floor"
        else:
            gen_request = GenerationRequest(rewrite.question, original.language, evidence, messages,
                                            tuple(e.name for e in result.query.entities), focus,
                                            grounding.own_documents)
            try:
                yield from self._generate(generator, gen_request, evidence, run, request.include_reasoning, t0)
            except GeneratorError as exc:
                run.errors.append(f"{generator.mode}: {exc}")
                degraded = True
                if not run.sent:
                    generator = self.extractive
                    run = _restart(run)
                    yield from self._generate(generator, gen_request, evidence, run, False, t0)
        generate_ms = (time.perf_counter() - t1) * 1000
        if abstain_reason is None and not run.sent:
            model_abstained = ABSTAIN_TOKEN in run.raw
            abstain_reason = ("the model found the evidence insufficient" if model_abstained
                              else "no claim of the answer is supported by the evidence")
            abstain_case = "model_insufficient" if model_abstained else "no_supported_claim"
        citations = build_citations(run.claims, evidence)
        scoped = grounding.abstention
        if abstain_reason is not None and scoped is None and grounding.fallback is not None and not run.sent:
            scoped = grounding.fallback  # nothing about the drug answered: say that it has no label here
            abstain_reason, abstain_case = scoped.message(language), scoped.case
        if abstain_reason is not None:
            if run.generator_start is not None:  # the abstention waited for the whole output
                run.first_text_ms = round((run.text_at - run.generator_start) * 1000, 1)
            text = abstain_reason if scoped is not None else ABSTENTION[language]
            yield "delta", {"text": text}
        else:
            text = _join(run.sent)
            if run.note:
                text = f"{run.note}\n{text}"
        citations_json = [c.to_json() for c in citations]
        yield "citations", {"citations": citations_json}
        notes = (self.review_notes(citations_json, [ev.to_json() for ev in evidence])
                 if self.review_notes is not None and citations_json else [])
        if notes:
            yield "review_notes", {"review_notes": notes}
        answer = Answer(
            answer_id=uuid.uuid4().hex,
            conversation_id=conversation_id,
            mode=generator.mode,
            degraded=degraded,
            abstain_reason=abstain_reason,
            abstain_case=abstain_case,
            answer=text,
            claims=[AnswerClaim(c.text, tuple(c.citations) if c.supported else (), c.supported, c.reason)
                    for c in run.claims],
            citations=citations,
            focus=focus.to_json() if focus.aspects else None,
            related=related,
            model=self._model_id(generator),
            settings_hash=settings.settings_hash(),
            index_version=result.index_version,
            prompt_version=PROMPT_VERSION,
            timings_ms={"retrieve": round(retrieve_ms, 1), "generate": round(generate_ms, 1),
                        "verify": round(run.verify_ms, 1), "first_delta": run.first_delta_ms,
                        "generator_first_text": run.first_text_ms,
                        "total": round((time.perf_counter() - t0) * 1000, 1)},
            usage=run.usage,
            reasoning=run.reasoning if request.include_reasoning else None,
            review_notes=notes,
        )
        response = answer.to_json()
        trace = {
            "question": request.question,
            "standalone_question": rewrite.question,
            "rewrite_method": rewrite.method,
            "language": original.language,
            "entities": [e.to_json() for e in result.query.entities],
            "focus": answer.focus,
            "scoped_abstention": scoped.to_json(language) if scoped is not None else None,
            "k": k,
            "filters": None if request.filters is None else request.filters.__dict__,
            "evidence": [ev.to_json() for ev in evidence],
            "facts": result.facts,
            "rerank": result.rerank.to_json() if result.rerank is not None else None,
            "relevance": round(relevance, 4),
            "prompt": messages,
            "raw_output": run.raw,
            "reasoning": run.reasoning,
            "verification": {"threshold": settings.support_threshold,
                             "lexical_weight": settings.support_lexical_weight,
                             "claims": [c.to_json() for c in run.claims],
                             "dropped_marks": [d.to_json() for d in run.dropped_marks]},
            "errors": run.errors,
            "caller": request.caller,
            "request_id": REQUEST_ID.get(),
        }
        self.traces.save(response, trace)
        for observe in self.answer_observers:
            observe(response)
        yield "done", response

    # -- generation with claim-by-claim verification ---------------------------------------
    def _check_focus(self, claims: Sequence[CheckedClaim], evidence: Sequence[Evidence], run: _Run) -> None:
        """A supported claim that is about another drug than the question's is not kept (about.py)."""
        if not run.focus.drugs:
            return
        by_n = {ev.n: ev for ev in evidence}
        for claim in claims:
            if not claim.supported:
                continue
            passages = [by_n[n] for n in claim.citations if n in by_n]
            reason = off_focus(claim.text, run.focus, self.drugs_named, passages, run.own_documents)
            if reason is not None:
                claim.supported, claim.reason = False, reason

    def _generate(self, generator: Generator, request: GenerationRequest, evidence: Sequence[Evidence], run: _Run,
                  include_reasoning: bool, t0: float) -> Iterator[Event]:
        run.focus, run.own_documents = request.focus, request.own_documents
        if generator.mode == "extractive" and request.language in ("zh", "mixed") and any(
                ev.chunk.language != "zh" for ev in evidence):
            run.note_pending = QUOTES_IN_ENGLISH
        elif self._answers_in_english(generator, request.language):
            run.note_pending = ANSWER_IN_ENGLISH
        run.generator_start = time.perf_counter()
        run.text_at = run.generator_start
        for event in generator.generate(request):
            run.text_at = time.perf_counter()
            if event.kind == "usage":
                run.usage = event.usage
                continue
            if event.kind == "reasoning":
                run.reasoning += event.text
                if include_reasoning:
                    yield "reasoning", {"text": event.text}
                continue
            run.raw += event.text
            yield from self._verify_ready(run, evidence, final=False, t0=t0)
        run.text_at = time.perf_counter()  # the stream has ended: the last claim is complete only now
        yield from self._verify_ready(run, evidence, final=True, t0=t0)

    def _verify_ready(self, run: _Run, evidence: Sequence[Evidence], final: bool, t0: float) -> Iterator[Event]:
        if final:
            parsed = parse_answer(run.raw)
            claims, run.dropped_marks = parsed.claims, parsed.dropped
        else:
            claims = complete_claims(run.raw)
        ready = claims[run.done :]
        if not ready:
            return
        t = time.perf_counter()
        checked = self.verifier.check(ready, evidence)
        self._check_focus(checked, evidence, run)
        run.verify_ms += (time.perf_counter() - t) * 1000
        run.done += len(ready)
        for claim in checked:
            run.claims.append(claim)
            if claim.supported and ABSTAIN_TOKEN not in claim.text:
                text = render_claim(claim.text, claim.citations)
                if not run.sent and run.note_pending:
                    run.note, run.note_pending = run.note_pending, ""
                    yield "delta", {"text": run.note + "\n"}
                if run.first_delta_ms is None:
                    run.first_delta_ms = round((time.perf_counter() - t0) * 1000, 1)
                    if run.generator_start is not None:
                        run.first_text_ms = round((run.text_at - run.generator_start) * 1000, 1)
                run.sent.append(text)
                yield "delta", {"text": text + _separator(text)}
            elif claim.supported:
                claim.supported, claim.reason = False, "abstention marker"

    def _answers_in_english(self, generator: Generator, language: str) -> bool:
        """Whether the LLM answers a question in this language in English: a Chinese question is answered in Chinese
        only when the verifier can read Chinese (an encoder that reads it)."""
        return (generator.mode == "llm" and language in ("zh", "mixed")
                and "zh" not in self.settings.embedding_languages)

    # -- replay -----------------------------------------------------------------------------
    def replay(self, answer_id: str) -> dict[str, Any] | None:
        """Re-verify a stored answer from its trace: the same raw output against the same evidence, its passages
        checked against the documents indexed today (a changed or removed one supports nothing).
        ``same_answer`` tells whether it still holds."""
        trace = self.traces.get(answer_id)
        if trace is None:
            return None
        evidence = [Evidence.from_json(item) for item in trace["evidence"]]
        claims = self.verifier.check(split_claims(trace["raw_output"]), evidence) if trace["raw_output"] else []
        versions = self.searcher.current_versions([ev.chunk.doc_id for ev in evidence])
        drop_stale(claims, stale_passages(evidence, versions))
        citations = [c.to_json() for c in build_citations(claims, evidence)]
        sent = [render_claim(c.text, c.citations) for c in claims if c.supported and ABSTAIN_TOKEN not in c.text]
        stored = trace["response"]
        answer = _join(sent) if sent else stored["answer"] if stored["abstained"] else ""
        return {
            "answer_id": answer_id,
            "answer": answer,
            "claims": [c.to_json() for c in claims],
            "citations": citations,
            "same_answer": answer == stored["answer"] and citations == stored["citations"],
            "stored": stored,
        }

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _model_id(generator: Generator) -> str:
        try:
            return generator.model_id()
        except GeneratorError:
            return "unavailable"


def related_json(hit: FusedHit) -> dict[str, Any]:
    """A passage shown apart from the answer: found by the search, but not about what the question names."""
    c = hit.chunk
    return {"doc_id": c.doc_id, "title": c.title, "section": c.section, "source_type": c.source_type,
            "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "version": c.version}


def _restart(run: _Run) -> _Run:
    """A fresh run for the fallback; the failed generator's output stays in the trace's errors."""
    fresh = _Run()
    fresh.errors = run.errors
    if run.raw:
        fresh.errors.append(f"discarded output: {run.raw[:4000]}")
    fresh.reasoning = run.reasoning
    return fresh


def _separator(sentence: str) -> str:
    """What follows a sentence in the answer: nothing after a Chinese full stop, else a space."""
    return "" if sentence.endswith(("。", "！", "？")) else " "


def _join(sentences: Sequence[str]) -> str:
    return "".join(s + _separator(s) for s in sentences).rstrip()


__all__ = ["STALE", "AskRequest", "Asker", "Event"]
