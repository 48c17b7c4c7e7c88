"""The graph knowledge as the service reads it: the knowledge files loaded, and drug/disease names found in text.

Read by the running service (query analysis, drug cards) and by the indexers (document links), so it lives in
``app``; what writes the graph stays in ``indexers/graph_build.py``.

``EntityDictionary.find_mentions`` is pure and fast (it runs over every chunk of the corpus):

- English names are matched case-insensitively on whole words: the text is split into word tokens
  once and, at each token that can start a name, the longest known token sequence is looked up in a
  dict (tokens of one name may only be separated by spaces, hyphens or an apostrophe);
- Chinese names are matched as substrings inside runs of CJK text (longest first), and only in
  texts that contain a CJK character at all;
- matches never overlap: left to right, the longest match at a position wins.

Not matched: the diseases that only carry label indications (``UMLS:`` ids), English names shorter
than 4 characters, inverted ICD-style names ("Cholera, unspecified"), "Other ..." catch-alls, a few
generic synonyms ("water", "salt"); brand names are left out by default (the UNII brand list holds
common words such as "choice").
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from app.graph_model import (
    ClassMember,
    DiseaseRecord,
    DrugClassRecord,
    DrugRecord,
    EntityKind,
    EntityMention,
    GraphKnowledge,
    Indication,
    Interaction,
)

_WORD = re.compile(r"[0-9a-zA-Z\u00c0-\u024f\u0370-\u03ff]+")
_WORD_CHAR = re.compile(r"[0-9a-zA-Z\u00c0-\u024f\u0370-\u03ff]")
_JOIN = re.compile(r"[ \t\-'\u2019]{1,3}")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[0-9A-Za-z]{0,4}[\u4e00-\u9fff][\u4e00-\u9fff0-9A-Za-z]*")
_PAREN = re.compile(r"\s*[(\uff08\[][^)\uff09\]]*[)\uff09\]]")
_SKIP_EN = re.compile(r"^(other|unspecified)\b|[,;:]|\bnot elsewhere\b|\bunspecified\b")
_STOP_EN = frozenset({"water", "aqua", "salt", "seawater", "sea water", "human"})  # synonyms too generic
#: Words of a product's name that do not change which drug it is: salts, hydrates, dosage forms ("METFORMIN HCL
#: extended-release tablets"). The one list: the resolver, the dictionary and the knowledge build all drop these.
SALT_WORDS = frozenset({
    "hcl", "hydrochloride", "hydrocloride", "sodium", "calcium", "potassium", "magnesium", "bisulfate",
    "maleate", "mesylate", "sulfate", "besylate", "tartrate", "bitartrate", "succinate", "citrate", "acetate",
    "phosphate", "fumarate", "hemifumarate", "gluconate", "carbonate", "erbumine", "medoxomil", "kamedoxomil",
    "cilexetil", "anhydrous", "monohydrate", "trihydrate", "dihydrate", "hyclate", "bromide", "chloride",
    "oral", "solution", "injection", "tablet", "tablets", "capsule", "capsules", "film", "coated", "extended",
    "release", "delayed", "er", "xr", "sr", "dr", "mg", "usp", "suspension", "cream", "gel", "patch", "kit",
    "nasal", "spray", "inhalation", "ophthalmic", "topical", "chewable", "orally", "disintegrating", "transdermal",
    "sublingual", "powder", "ointment", "drops", "syrup", "elixir", "prefilled", "syringe", "vial", "ml",
})
#: Diseases that only carry label indications (LabeledIn's MeSH names: "Disease", "Pain", "Seizures"): never
#: matched in text — as mentions they linked a fifth of all documents to words, not diseases.
LABEL_ONLY_DISEASES = ("UMLS:",)
MIN_EN_CHARS = 4
MIN_ZH_CHARS = 2
_FILES: dict[str, Any] = {
    "drugs": DrugRecord, "diseases": DiseaseRecord, "classes": DrugClassRecord,
    "class_members": ClassMember, "indications": Indication, "interactions": Interaction,
}


def load_graph_knowledge(knowledge_dir: Path) -> GraphKnowledge:
    """Read ``knowledge_dir/graph/*.jsonl.gz`` (lists become tuples); a missing file reads as empty."""
    tables: dict[str, tuple[Any, ...]] = {}
    for name, record_type in _FILES.items():
        path = Path(knowledge_dir) / "graph" / f"{name}.jsonl.gz"
        rows: list[Any] = []
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    raw = json.loads(line)
                    rows.append(record_type(**{k: tuple(v) if isinstance(v, list) else v
                                               for k, v in raw.items()}))
        tables[name] = tuple(rows)
    return GraphKnowledge(**tables)


def _whole_word(text: str, word: str, start: int) -> int:
    """Offset of the first occurrence of ``word`` at or after ``start`` that is a whole word."""
    at = text.find(word, start)
    while (at > 0 and _WORD_CHAR.match(text, at - 1)) or _WORD_CHAR.match(text, at + len(word)):
        at = text.find(word, at + 1)
    return at


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


class EntityDictionary:
    """Drug and disease names → entity ids, plus label lookups (set id, UNII, generic name)."""

    def __init__(self, knowledge: GraphKnowledge, include_brands: bool = False) -> None:
        self._en: dict[tuple[str, ...], tuple[str, EntityKind]] = {}
        self._en_prefixes: set[tuple[str, ...] | str] = set()  # word tuples that begin a name + 1st words
        self._zh: dict[str, tuple[str, EntityKind]] = {}
        self._zh_lengths: dict[str, tuple[int, ...]] = {}
        self.by_set_id: dict[str, list[str]] = {}
        self.by_unii: dict[str, list[str]] = {}
        self.by_brand: dict[str, list[str]] = {}
        candidates: list[tuple[int, int, str, str, EntityKind]] = []
        for drug in knowledge.drugs:
            names = [(0, drug.name), *((1, n) for n in (*drug.names_en, *drug.names_zh))]
            names += [(2, b) for b in drug.brands] if include_brands else []
            candidates += [(rank, 0, drug.id, name, "drug") for rank, name in names]
            for set_id in drug.set_ids:
                self.by_set_id.setdefault(set_id, []).append(drug.id)
            if drug.unii:
                self.by_unii.setdefault(drug.unii, []).append(drug.id)
            for brand in drug.brands:
                self.by_brand.setdefault(" ".join(_tokens(brand)), []).append(drug.id)
        for disease in knowledge.diseases:
            if disease.id.startswith(LABEL_ONLY_DISEASES):
                continue
            names = [(0, disease.name), *((1, n) for n in (*disease.names_en, *disease.names_zh))]
            candidates += [(rank, 1, disease.id, name, "disease") for rank, name in names]
        for _, _, entity_id, name, kind in sorted(candidates):
            self._add(name, entity_id, kind)
            stripped = _PAREN.sub("", name).strip()
            if stripped != name.strip():
                self._add(stripped, entity_id, kind)
        lengths: dict[str, set[int]] = {}
        for surface in self._zh:
            lengths.setdefault(surface[0], set()).add(len(surface))
        self._zh_lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}

    def _add(self, name: str, entity_id: str, kind: EntityKind) -> None:
        name = name.strip()
        if _HAS_CJK.search(name):
            if len(name) >= MIN_ZH_CHARS:
                self._zh.setdefault(name, (entity_id, kind))
            return
        tokens = _tokens(name)
        if len(name) < MIN_EN_CHARS or not tokens or _SKIP_EN.search(name.lower()):
            return
        if " ".join(tokens) in _STOP_EN:
            return
        if tokens not in self._en:
            self._en[tokens] = (entity_id, kind)
            self._en_prefixes.update(tokens[:size] for size in range(1, len(tokens) + 1))
            self._en_prefixes.add(tokens[0])

    def __len__(self) -> int:
        return len(self._en) + len(self._zh)

    def find_mentions(self, text: str) -> list[EntityMention]:
        """All non-overlapping name matches in ``text``, in text order."""
        found = self._find_english(text)
        if _HAS_CJK.search(text):
            found += self._find_chinese(text)
            found.sort(key=lambda m: m.start)
        return found

    def _find_english(self, text: str) -> list[EntityMention]:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters change length when lower-cased
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        tokens = _WORD.findall(lowered)
        names, prefixes, count = self._en, self._en_prefixes, len(tokens)
        out: list[EntityMention] = []
        cursor = resume = 0
        skipped: dict[str, int] = {}  # start words seen since the cursor that began no name
        for i in [i for i, token in enumerate(tokens) if token in prefixes]:
            if i < resume:
                continue
            key: tuple[str, ...] = (tokens[i],)
            sizes = [1] if key in names else []
            while i + len(key) < count and (key := (*key, tokens[i + len(key)])) in prefixes:
                if key in names:
                    sizes.append(len(key))
            if not sizes:
                skipped[tokens[i]] = skipped.get(tokens[i], 0) + 1
                continue
            # Char offsets, only for hits: the wanted occurrence of the start word is the first
            # whole-word one after the cursor, past those that started nothing.
            begin = _whole_word(lowered, tokens[i], cursor)
            for _ in range(skipped.get(tokens[i], 0)):
                begin = _whole_word(lowered, tokens[i], begin + 1)
            skipped.clear()
            ends = [begin + len(tokens[i])]
            while len(ends) < sizes[-1]:
                nxt = lowered.find(tokens[i + len(ends)], ends[-1])
                if not _JOIN.fullmatch(lowered, ends[-1], nxt):
                    break
                ends.append(nxt + len(tokens[i + len(ends)]))
            fitting = [size for size in sizes if size <= len(ends)]
            if not fitting:  # the words of the name are not adjacent here ("acid. Folic")
                cursor = ends[0]
                continue
            size = fitting[-1]
            hit = names[tuple(tokens[i : i + size])]
            cursor, resume = ends[size - 1], i + size
            out.append(EntityMention(hit[0], hit[1], text[begin:cursor], begin, cursor))
        return out

    def _find_chinese(self, text: str) -> list[EntityMention]:
        out: list[EntityMention] = []
        for run in _CJK_RUN.finditer(text):
            segment, base, i = run.group(), run.start(), 0
            while i < len(segment):
                step = 1
                for size in self._zh_lengths.get(segment[i], ()):
                    piece = segment[i : i + size]
                    hit = self._zh.get(piece) if len(piece) == size else None
                    if hit:
                        out.append(EntityMention(hit[0], hit[1], piece, base + i, base + i + size))
                        step = size
                        break
                i += step
        return out

    def drugs_named(self, name: str) -> list[str]:
        """Drug ids for a generic name or brand, each ingredient of "a / b", "a and b" on its own,
        trailing salt and form words dropped ("METFORMIN HCL", "calcium acetate oral solution")."""
        found: list[str] = []
        for part in re.split(r"(?i)/|,| and |\+", name):
            words = list(_tokens(part))
            while words:
                hit = self._en.get(tuple(words))
                if hit and hit[1] == "drug":
                    found.append(hit[0])
                    break
                if words[-1] not in SALT_WORDS:
                    found.extend(self.by_brand.get(" ".join(words), []))
                    break
                words.pop()
        return list(dict.fromkeys(found))


_PUNCT = re.compile(r"[^\w\s\u3400-\u9fff]+")


def normalize_name(name: str) -> str:
    """A name as the resolver indexes it: NFKC, lower case, punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", name).replace("\u2019", "'").lower()
    text = _PUNCT.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()
