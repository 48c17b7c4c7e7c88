"""Query analysis: normalisation, language, entity linking, and an English rendering of the query.

The evidence is mostly English and the dense model (all-MiniLM-L6-v2) is English-only, so a
Chinese or mixed question is also *rendered in English* for retrieval: each linked drug or disease
becomes its English name (from the knowledge graph) and common clinical question words become
English through a small glossary (``knowledge/vocab/zh_en_terms.tsv``); other Chinese words are
kept for the lexical channel only, where they still match Chinese documents.  "华法林 禁忌" and
"warfarin contraindications" thus reach the same evidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from app.graph_model import DiseaseRecord, DrugRecord, GraphKnowledge
from app.knowledge import EntityDictionary
from app.text.language import is_han

QueryLanguage = Literal["zh", "en", "mixed"]
GLOSSARY_FILE = Path("vocab") / "zh_en_terms.tsv"
_SPACES = re.compile(r"\s+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
MAX_ALIASES = 3


@dataclass(frozen=True)
class LinkedEntity:
    """A drug or disease named in the query: ``normalized[start:end] == surface``."""

    id: str
    kind: str
    name: str
    surface: str
    start: int
    end: int
    aliases: tuple[str, ...] = ()  # other English names ("aspirin" for acetylsalicylic acid)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "surface": self.surface,
                "start": self.start, "end": self.end}


@dataclass(frozen=True)
class AnalyzedQuery:
    text: str
    normalized: str
    language: QueryLanguage
    entities: tuple[LinkedEntity, ...]
    english: str  # the query rendered in English (equal to ``normalized`` for an English query)

    @property
    def lexical(self) -> str:
        """What the BM25 channel searches: the English rendering, the entities' English names (a
        synonym also finds the name the label uses), and the original words of a non-English query."""
        original = self.normalized if self.language != "en" else ""
        return " ".join(part for part in (self.lexical_english, original) if part)

    @property
    def lexical_own(self) -> str:
        """What the lexical channel searches passages in the question's own (non-English) language with: the
        question's own words, entity names included as written (a Chinese question over Chinese passages)."""
        return self.normalized

    @property
    def lexical_english(self) -> str:
        """What the lexical channel searches English passages with: the English rendering and the entities'
        English names (for an English question, the same as ``lexical``)."""
        names = " ".join(dict.fromkeys(n.lower() for e in self.entities for n in (e.name, *e.aliases)))
        return " ".join(part for part in (self.english, names) if part)

    @property
    def dense(self) -> str:
        """What an English-only dense model embeds: the English rendering."""
        return self.english or self.normalized

    def dense_text(self, languages: frozenset[str] | None) -> str:
        """What a dense model reading ``languages`` (None: any) embeds: the question as asked when the model
        reads its language(s), else its English rendering."""
        asked = {"zh", "en"} if self.language == "mixed" else {self.language}
        if languages is None or asked <= languages:
            return self.normalized
        return self.dense

    @property
    def drug_ids(self) -> list[str]:
        return list(dict.fromkeys(e.id for e in self.entities if e.kind == "drug"))

    @property
    def entity_ids(self) -> list[str]:
        return list(dict.fromkeys(e.id for e in self.entities))


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation become ASCII), single spaces, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def detect_query_language(text: str) -> QueryLanguage:
    """"zh" when Han characters dominate the letters, "en" without Han, "mixed" in between."""
    han = sum(1 for c in text if is_han(c))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    if han == 0:
        return "en"
    share = han / (han + latin / 2.5)  # a Han character carries about as much as 2.5 Latin letters
    return "zh" if share >= 0.75 else "mixed"


def read_glossary(path: Path) -> dict[str, str]:
    """``chinese<TAB>english`` lines (``#`` comments); an empty English side drops the word."""
    glossary: dict[str, str] = {}
    if not path.exists():
        return glossary
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        chinese, sep, english = line.partition("\t")
        if not sep or not chinese.strip():
            raise ValueError(f"{path}:{number}: expected 'chinese<TAB>english'")
        glossary[chinese.strip()] = english.strip()
    return glossary


class QueryAnalyzer:
    """Turns a question into an ``AnalyzedQuery``; built once per process from the knowledge."""

    def __init__(self, knowledge: GraphKnowledge, glossary: dict[str, str],
                 linking_names: dict[str, list[str]] | None = None) -> None:
        # Names are matched in the query's normalised form (full-width punctuation of ICD-10's Chinese
        # names becomes ASCII).  The graph's brands are left out: its source lists hold brands that are
        # common words ("choice").  ``linking_names`` (drug id -> label brands, hospital aliases) link a
        # drug but never expand the lexical query.
        extra = linking_names or {}
        normalised = GraphKnowledge(
            drugs=tuple(replace(d, names_en=(*d.names_en, *(n for n in extra.get(d.id, []) if n.isascii())),
                                names_zh=tuple(normalize(n) for n in (*d.names_zh, *(
                                    n for n in extra.get(d.id, []) if not n.isascii()))))
                        for d in knowledge.drugs),
            diseases=tuple(replace(d, names_zh=tuple(normalize(n) for n in d.names_zh)) for d in knowledge.diseases),
        )
        self._dictionary = EntityDictionary(normalised, include_brands=False)
        records: list[DrugRecord | DiseaseRecord] = [*knowledge.drugs, *knowledge.diseases]
        self._names = {r.id: r.name for r in records}
        self._aliases = {
            r.id: tuple(n for n in r.names_en if n.lower() != r.name.lower() and n.count(" ") < 3)[:MAX_ALIASES]
            for r in records
        }
        self._glossary = glossary
        self._glossary_lengths = sorted({len(k) for k in glossary}, reverse=True)

    @property
    def glossary_words(self) -> frozenset[str]:
        """The Chinese clinical words the glossary renders in English."""
        return frozenset(self._glossary)

    @classmethod
    def from_knowledge(cls, knowledge: GraphKnowledge, knowledge_dir: Path,
                       linking_names: dict[str, list[str]] | None = None) -> QueryAnalyzer:
        return cls(knowledge, read_glossary(knowledge_dir / GLOSSARY_FILE), linking_names)

    def analyze(self, text: str) -> AnalyzedQuery:
        normalized = normalize(text)
        entities = tuple(
            LinkedEntity(m.entity_id, m.kind, self._names.get(m.entity_id, m.surface), m.surface, m.start, m.end,
                         self._aliases.get(m.entity_id, ()))
            for m in self._dictionary.find_mentions(normalized)
        )
        language = detect_query_language(normalized)
        english = normalized if language == "en" else self._render_english(normalized, entities)
        return AnalyzedQuery(text, normalized, language, entities, english)

    def _render_english(self, text: str, entities: tuple[LinkedEntity, ...]) -> str:
        """Entities by their English names, glossary words in English, other Han characters dropped."""
        out: list[str] = []
        by_start = {e.start: e for e in entities}
        i = 0
        while i < len(text):
            entity = by_start.get(i)
            if entity is not None:
                out.append(f" {entity.name.lower()} ")
                i = entity.end
                continue
            if is_han(text[i]):
                for size in self._glossary_lengths:
                    english = self._glossary.get(text[i : i + size])
                    if english is not None:
                        out.append(f" {english} ")
                        i += size
                        break
                else:
                    out.append(" ")
                    i += 1
                continue
            out.append(text[i])
            i += 1
        return _SPACES.sub(" ", "".join(out)).strip()
