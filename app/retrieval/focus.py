"""Query focus: what the question asks about (a section type) and which document it names (a title).

Two documented, configurable re-ranking signals applied to the fused hits (pure functions):

- **Section intent.**  A question that asks for a kind of content ("What are the symptoms of…",
  "contraindications of warfarin", "华法林的不良反应") prefers, in the documents about what it
  names, the passages under a heading of that kind ("Symptoms", "CONTRAINDICATIONS", "ADVERSE
  REACTIONS").  Cue patterns and heading patterns are listed in ``SECTION_INTENTS`` (English, and
  Chinese cues for the original wording).  "About what it names" is the document whose title it
  names (below) and the labels of the drugs it names (the graph's ``DESCRIBED_BY``): the symptoms
  of X are in X's page, not in the Symptoms section of another disease, and a study abstract that
  answers "Does X cause Y?" must not lose to every page with a "Causes" section (measured on
  PubMedQA: R@1 0.974 -> 0.904 when the boost went to every document).
- **Named document.**  When the question names a document's whole title ("…of Liddle syndrome",
  "…of Charcot-Marie-Tooth disease type 1A"), the hits of the most specific title it names (the
  longest) go up — only when that title is at least 80% of what the question says besides its cue
  and stop words, so that "pain" in "pain after warfarin" does not pull up a document titled "Pain".

Each hit's factor is ``1 + section_weight · [its document is about what the question names and its
heading matches an asked intent] + title_weight · [its document's title is the named one]``; 1.0
when neither applies.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from app.retrieval.fusion import FusedHit
from app.text.analysis import ENGLISH_STOP_WORDS


@dataclass(frozen=True)
class SectionIntent:
    name: str
    cue: re.Pattern[str]  # in the question
    heading: re.Pattern[str]  # in a passage's section heading


def _intent(name: str, cue: str, heading: str) -> SectionIntent:
    return SectionIntent(name, re.compile(cue, re.I), re.compile(heading, re.I))


SECTION_INTENTS: tuple[SectionIntent, ...] = (
    _intent("contraindications", r"\bcontra-?indicat\w*|禁忌", r"\bcontraindications?\b"),
    _intent("adverse_reactions", r"\bside[- ]effects?\b|\badverse (reactions?|effects?|events?)\b|不良反应|副作用",
            r"\badverse reactions?\b|\bside effects?\b"),
    _intent("dosage", r"\bdos(e|es|age|ing)\b|剂量|用量|用法",
            r"\bdosage\b|\bdosing\b|\bdose\b|\badministration\b"),
    _intent("interactions", r"\binteract(s|ion|ions)?\b|\btaken with\b|\bcombined with\b|相互作用|合用|同服",
            r"\binteractions?\b"),
    _intent("pregnancy", r"\bpregnan\w*|\blactation\b|\bbreast-?feeding\b|妊娠|孕妇|哺乳",
            r"\bpregnancy\b|\blactation\b|\bspecific populations\b"),
    _intent("warnings", r"\bwarnings?\b|\bprecautions?\b|警告|注意事项", r"\bwarnings?\b|\bprecautions\b"),
    _intent("overdosage", r"\boverdos\w*|过量", r"\boverdos\w*"),
    _intent("symptoms", r"\bsymptoms?\b|\bsigns\b|症状", r"\bsymptoms\b"),
    _intent("treatment", r"\btreat(ment|ments|ed)?\b|\btherap(y|ies)\b|治疗", r"^treatment\b"),
    _intent("inheritance", r"\binherit(ed|ance)?\b|遗传", r"^inheritance\b"),
    _intent("frequency", r"\bhow many people\b|\bhow common\b|\bprevalence\b|发病率|患病率", r"^frequency\b"),
    _intent("genetic_changes", r"\bgenetic changes?\b|\bmutations?\b|基因", r"^genetic changes\b"),
    _intent("causes", r"\bcause[sd]?\b|病因|原因", r"^causes\b"),
    _intent("diagnosis", r"\bdiagnos(e|is|ed)\b|\bexams?\b|诊断", r"^exams and tests\b|^diagnosis\b"),
    _intent("outlook", r"\boutlook\b|\bprognosis\b|预后", r"^outlook\b|^prognosis\b"),
    _intent("prevention", r"\bprevent(ed|ion|ing)?\b|预防", r"^prevention\b"),
    _intent("susceptibility", r"\bat risk\b|\bsusceptib\w*|易感", r"^susceptibility\b"),
    _intent("complications", r"\bcomplications?\b|并发症", r"^complications\b"),
    _intent("stages", r"\bstages?\b|分期", r"^stages\b"),
    _intent("research", r"\bresearch\b|\bclinical trials?\b", r"^research\b"),
    _intent("considerations", r"\bwhat to do for\b", r"^considerations\b"),
)
# "What is X?" asks for the overview, unless it also asks for something more specific.
OVERVIEW = _intent("information", r"^\s*(what is|what are|what's|do you have information|tell me about)\b|是什么",
                   r"^information\b|^overview\b|^summary\b|^description\b")

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65_536)
def title_words(title: str) -> tuple[str, ...]:
    """A title's words, kept per title (a search compares ~150 candidates' titles)."""
    return tuple(words(title))


@dataclass(frozen=True)
class QueryFocus:
    intents: tuple[SectionIntent, ...]
    words: tuple[str, ...]  # the question's words (English rendering and original wording)
    content: frozenset[str]  # those that are neither stop words nor part of an intent cue

    @property
    def empty(self) -> bool:
        return not self.intents and not self.content

    @cached_property
    def phrase(self) -> str:
        """The question's words, space-separated and space-padded: a title is named when its words,
        joined the same way, occur in it."""
        return f" {' '.join(self.words)} "


def query_focus(texts: Sequence[str]) -> QueryFocus:
    """The intents asked in any of ``texts`` (a question's English rendering and its own wording)."""
    intents = [i for i in SECTION_INTENTS if any(i.cue.search(t) for t in texts)]
    if not intents and any(OVERVIEW.cue.search(t) for t in texts):
        intents = [OVERVIEW]
    all_words: list[str] = []
    content: set[str] = set()
    for text in texts:
        all_words.extend(words(text))
        stripped = text
        for intent in (*SECTION_INTENTS, OVERVIEW):
            stripped = intent.cue.sub(" ", stripped)
        content.update(w for w in words(stripped) if w not in ENGLISH_STOP_WORDS)
    return QueryFocus(tuple(intents), tuple(all_words), frozenset(content))


def named_title(focus: QueryFocus, titles: Sequence[str], min_cover: float = 0.8) -> tuple[str, ...] | None:
    """The words of the longest of ``titles`` that the question names whole and that is at least
    ``min_cover`` of its content words (titles compare by their lower-case words); None when none."""
    best: tuple[str, ...] | None = None
    for tokens in dict.fromkeys(title_words(t) for t in dict.fromkeys(titles)):
        if not tokens or f" {' '.join(tokens)} " not in focus.phrase:
            continue
        covered = len(set(tokens) & focus.content)
        if covered < min_cover * max(len(focus.content), 1):
            continue
        if best is None or len(tokens) > len(best):
            best = tokens
    return best


def apply_focus(hits: Sequence[FusedHit], focus: QueryFocus, section_weight: float, title_weight: float,
                labels_of_named_drugs: Collection[str] = ()) -> list[FusedHit]:
    """Scale each hit by its focus factor (see the module) and re-sort (stable)."""
    if focus.empty or (section_weight <= 0 and title_weight <= 0):
        return list(hits)
    title = named_title(focus, [h.chunk.title for h in hits])
    asked: dict[str, bool] = {}  # section heading -> whether it is of an asked kind
    for hit in hits:
        factor = 1.0
        named = title is not None and title_words(hit.chunk.title) == title
        about = named or hit.chunk.doc_id in labels_of_named_drugs
        if section_weight > 0 and about:
            section = hit.chunk.section
            if section not in asked:
                asked[section] = any(i.heading.search(section) for i in focus.intents)
            if asked[section]:
                factor += section_weight
        if named:
            factor += title_weight
        hit.focus = factor
        hit.score *= factor
    return sorted(hits, key=lambda h: -h.score)
