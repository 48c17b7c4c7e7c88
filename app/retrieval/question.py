"""Question understanding: which drugs (or drug classes) a question is about, and what it asks of them.

A clinician's or a patient's question names its subject in many ways: a generic name ("diazepam"), a
brand ("Valium", "keflex"), a salt or form ("metoprolol succ.", "clopidogrel bisulfate"), a combination
("acetaminophen and codeine"), a Chinese name ("对乙酰氨基酚"), or a misspelling ("rivatigmine").  Every
answer is grounded on that subject, so it is read here once, with the same name resolver as the drug
cards (``DrugNameResolver``), and kept as a ``QuestionFocus``:

- **drugs**: each with every name it can be found by in a passage (English names, brands, Chinese names,
  hospital aliases; names that are common English words, "Equal" for aspartame, are not used to find it);
- **classes**: drug classes the question names ("statins"), with their members;
- **diseases**: the diseases the query analysis linked;
- **aspects**: what it asks (``aspects.py``), the first one primary;
- **unknown names**: words that look like a product name — rare in English, in no indexed passage, no
  drug's name — so the answer can say the knowledge holds nothing on them instead of answering about
  something else; a rare word that the passages do use, in a question that asks what only a medicine has
  (its dose, contraindications, storage…) or calls it a pill, a cream, a vaccine…, becomes a named product
  (a ``FocusClass`` with no members, ``name:<word>``): "contraindications for kadian" is answered about Kadian
  or not at all;
- **assumed**: misspellings read as a drug ("rivatigmine" → rivastigmine), said in the answer, never
  silently.

A brand that is also a common English word ("equal", "choice") links only when the question has no other
drug; word commonness is wordfreq's Zipf frequency (a PyPI package shipping its word lists).
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.drugs.names import DrugNameResolver
from app.graph_model import GraphKnowledge
from app.knowledge import SALT_WORDS, normalize_name
from app.retrieval.aspects import Aspect, question_aspects
from app.retrieval.query import AnalyzedQuery, LinkedEntity
from app.text.analysis import ENGLISH_STOP_WORDS

COMMON_WORD_ZIPF = 3.5  # a word at least this frequent in English is a common word, not a product name
RARE_WORD_ZIPF = 2.5  # below this, an unknown word may be a product name
#: Last characters of Chinese approved drug names (西替利嗪, 阿莫西林, 地西泮, 氯沙坦, 头孢呋辛, 布洛芬, 红霉素,
#: 度普利尤单抗...).
DRUG_NAME_ENDINGS = frozenset("嗪林泮仑唑酮胺平汀尔坦辛芬素星韦松醇肽因啶脲抗")
SUBJECT_SHARE = 1 / 3  # of a question's content words, for a word to be what the question is about
RARE_NAME_PASSAGES = 2  # a word in at most this many passages may be a product's name (not the knowledge's vocabulary)
MISSPELLING_CUTOFF = 0.85  # difflib ratio for reading a rare word as a drug name
MAX_WINDOW = 4  # words in the longest name tried
_WORD = re.compile(r"[a-z0-9][a-z0-9\-']*")
# Words of questions that are never a drug's name, even when a brand or an unknown word looks like one.
_QUESTION_WORDS = frozenset({
    "dose", "doses", "dosage", "pill", "pills", "tablet", "tablets", "medicine", "medication", "medications", "drug",
    "drugs", "take", "taking", "side", "effects", "effect", "safe", "pregnancy", "pregnant", "much", "many", "long",
    "daily", "maximum", "max", "use", "used", "work", "works", "brain", "body", "what", "when", "how", "does",
    "can", "should", "with", "while", "after", "before", "stop", "stopping", "mg", "milligrams", "capsule",
    "capsules", "shot", "shots", "vaccine", "cream", "ointment", "patch", "injection", "inhaler", "gel", "drops",
})


# Shorthand of consumer questions, read in full before names are looked up ("vit b12 tab" → vitamin b12 tablet).
_SHORTHAND = {"vit": "vitamin", "vits": "vitamins", "tab": "tablet", "tabs": "tablets", "cap": "capsule",
              "caps": "capsules", "inj": "injection", "susp": "suspension", "soln": "solution"}


@lru_cache(maxsize=65_536)
def chinese_zipf(word: str) -> float:
    """How common a Chinese word is (wordfreq's Zipf scale for Chinese)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "zh"))


@lru_cache(maxsize=65_536)
def english_zipf(word: str) -> float:
    """How common ``word`` is in English (Zipf scale: 7 "the", 5 "brain", 3 "valium", 0 unknown)."""
    from wordfreq import zipf_frequency  # loads its word list on first use (~0.5 s)

    return float(zipf_frequency(word, "en"))


@dataclass(frozen=True)
class FocusDrug:
    id: str
    name: str
    surface: str  # as the question wrote it
    matched_by: str  # generic | brand | chinese | alias | salt-stripped | combination | misspelling | linked
    names: tuple[str, ...]  # lower-case names to find it by in a passage

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "surface": self.surface, "matched_by": self.matched_by,
                "names": list(self.names)}


@dataclass(frozen=True)
class FocusClass:
    id: str
    name: str
    surface: str
    member_ids: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The lower-case names to find it by in a passage: its own and the question's wording."""
        return tuple(dict.fromkeys((normalize_name(self.name), normalize_name(self.surface))))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "surface": self.surface, "members": len(self.member_ids)}


@dataclass(frozen=True)
class QuestionFocus:
    drugs: tuple[FocusDrug, ...] = ()
    classes: tuple[FocusClass, ...] = ()
    diseases: tuple[LinkedEntity, ...] = ()
    aspects: tuple[Aspect, ...] = ()
    unknown_names: tuple[str, ...] = ()

    @property
    def aspect(self) -> Aspect:
        return self.aspects[0]

    @property
    def names_a_subject(self) -> bool:
        """Whether the answer must be about something the question names (a drug or a drug class)."""
        return bool(self.drugs or self.classes)

    @property
    def assumed(self) -> tuple[FocusDrug, ...]:
        return tuple(d for d in self.drugs if d.matched_by == "misspelling")

    @property
    def asks_one_drugs_label(self) -> bool:
        """One drug, asked for what its label answers (a dose, side effects…), not an interaction: then within
        its own label every passage is about it, and how a passage names it tells nothing."""
        return (len(self.subjects()) == 1 and bool(self.drugs) and bool(self.aspects) and self.aspect.label_aspect
                and self.aspect.name != "interaction")

    def drug_name_forms(self) -> tuple[str, ...]:
        """Every form the focus drugs' names take: their names, display names and the question's wording."""
        return tuple(dict.fromkeys(n for d in self.drugs for n in (*d.names, d.name.lower(), d.surface.lower()) if n))

    def subjects(self) -> tuple[tuple[str, ...], ...]:
        """The names of each thing the question is about (each drug, each class or named product)."""
        return (*(d.names for d in self.drugs), *(c.names for c in self.classes))

    def subject_names(self) -> tuple[str, ...]:
        """Every lower-case name that shows a passage is about the focus (drugs, then classes)."""
        return tuple(dict.fromkeys(n for names in self.subjects() for n in names))

    def display_name(self, language: str = "en") -> str:
        """The subject as an answer names it: "diazepam (Valium)", "warfarin and aspirin"."""
        parts = []
        for d in self.drugs:
            shown = d.name.lower() if d.name.isascii() else d.name
            if d.surface and normalize_name(d.surface) != normalize_name(d.name) and d.surface.isascii():
                shown += f" ({d.surface})"
            parts.append(shown)
        parts += [c.name.lower() for c in self.classes]
        joiner = "和" if language == "zh" else " and "
        return joiner.join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "drugs": [d.to_json() for d in self.drugs],
            "classes": [c.to_json() for c in self.classes],
            "diseases": [{"id": e.id, "name": e.name} for e in self.diseases],
            "aspect": self.aspect.name if self.aspects else None,
            "aspects": [a.name for a in self.aspects],
            "unknown_names": list(self.unknown_names),
        }


def _usable_name(name: str, generic: bool) -> bool:
    """Whether a passage naming ``name`` can be taken to name the drug (not "equal", not "a")."""
    if len(name) < 3 or name in ENGLISH_STOP_WORDS:
        return False
    if generic or not name.isascii() or " " in name:
        return True
    return english_zipf(name) < COMMON_WORD_ZIPF


class QuestionReader:
    """Reads a ``QuestionFocus`` from an analysed query.  Built once per process; ``resolver`` is called for
    the current name resolver (it changes with the indexed labels and the hospital aliases)."""

    def __init__(self, knowledge: GraphKnowledge, resolver: Callable[[], DrugNameResolver],
                 occurrences: Callable[[str], int] | None = None, glossary: Iterable[str] = ()) -> None:
        self._resolver = resolver
        self._occurrences = occurrences or (lambda word: RARE_NAME_PASSAGES + 1)
        classes = {c.id: c.name for c in knowledge.classes}
        members: dict[str, list[str]] = {}
        for m in knowledge.class_members:
            members.setdefault(m.class_id, []).append(m.drug_id)
        self._classes = {cid: (name, tuple(dict.fromkeys(members.get(cid, [])))) for cid, name in classes.items()}
        self._class_keys: dict[str, str] = {}  # "statin" / "statins" -> class id
        for cid, name in classes.items():
            key = normalize_name(name)
            self._class_keys[key] = cid
            if key.endswith("s"):
                self._class_keys[key[:-1]] = cid
        self._generics_of: Any = None
        # "insulin" names the drug whose generic name is "insulin injection": a name with its form words off.
        self._bases: dict[str, tuple[str, ...]] = {}
        for drug in knowledge.drugs:
            for name in (drug.name, *drug.names_en):
                words = normalize_name(name).split()
                while len(words) > 1 and words[-1] in SALT_WORDS:
                    words.pop()
                base = " ".join(words)
                if base != normalize_name(name) and len(base) >= 4:
                    self._bases[base] = tuple(dict.fromkeys((*self._bases.get(base, ()), drug.id)))
        self._han_stop = frozenset("的了吗呢吧啊是有和与及或在用吃服会能可以要对把被给让")
        self._glossary: frozenset[str] = frozenset(glossary)  # Chinese clinical words the query analysis knows

    # -- the whole focus ---------------------------------------------------------------------------------
    def read(self, query: AnalyzedQuery) -> QuestionFocus:
        resolver = self._resolver()
        texts = tuple(dict.fromkeys((query.normalized, query.english)))
        aspects = question_aspects(texts)
        drugs: dict[str, FocusDrug] = {}
        for entity in query.entities:  # linked by the query analysis (names, Chinese names, label brands)
            if entity.kind == "drug" and entity.id in resolver.drugs:
                drugs.setdefault(entity.id, self._focus_drug(resolver, entity.id, entity.surface, "linked"))
        words = [_SHORTHAND.get(w, w) for w in _WORD.findall(query.english.lower())]
        used = [False] * len(words)
        for start, end, ids, how in self._windows(resolver, words):
            if any(used[start:end]):
                continue
            if how == "brand" and end - start == 1 and english_zipf(words[start]) >= COMMON_WORD_ZIPF:
                continue  # "equal", "choice": brands that are common words
            for i in range(start, end):
                used[i] = True
            surface = " ".join(words[start:end])
            for drug_id in ids:
                drugs.setdefault(drug_id, self._focus_drug(resolver, drug_id, surface, how))
        # Words inside a linked entity's surface are used too.
        linked_words = {w for e in query.entities for w in _WORD.findall(e.surface.lower())}
        classes = self._find_classes(words, used)
        unknown: list[str] = []
        rare: list[tuple[str, int]] = []  # rare words the passages use (and in how many), naming no graph drug
        product_aspect = aspects[0].product
        for i, word in enumerate(words):
            if used[i] or word in linked_words:
                continue
            base = self._bases.get(word, ())
            ordinary = word in _QUESTION_WORDS or word in SALT_WORDS
            if (len(base) == 1 and not ordinary and base[0] in resolver.drugs
                    and (product_aspect or _beside_a_product_word(word, query.english))):
                # "How should insulin be stored?" (not "insulin resistance": that asks nothing of a medicine)
                used[i] = True
                drugs.setdefault(base[0], self._focus_drug(resolver, base[0], word, "base name"))
                continue
            if not self._candidate_name(word):
                continue
            passages = self._occurrences(word)
            if passages:  # vocabulary of the knowledge ("leptin", "cyclospora"): never read as a misspelled drug
                rare.append((word, passages))
                continue
            misspelled = self._misspelling(resolver, word)
            if misspelled is not None:
                used[i] = True
                how = "abbreviation" if misspelled[1] else "misspelling"
                drugs.setdefault(misspelled[0], self._focus_drug(resolver, misspelled[0], word, how))
            else:
                unknown.append(word)
        # An unknown or rare word is taken for the question's subject only where the question is about it: it asks
        # what only a medicine has, calls it a medicine, or the word is a good part of what it says.  "Cycloplegic
        # autorefraction in young adults: is it mandatory?" is not a question about a product "autorefraction".
        def subject(word: str) -> bool:
            return _beside_a_product_word(word, query.english) or _share(word, words, aspects[0]) >= SUBJECT_SHARE

        unknown = [w for w in unknown if product_aspect or subject(w)]
        if query.language != "en":
            han = len(re.findall(r"[\u4e00-\u9fff]", query.normalized)) or 1
            unknown += [w for w in self._unknown_chinese(query) if product_aspect or len(w) / han >= SUBJECT_SHARE]
        # A product the graph does not know but a passage or two name ("morphine (MS Contin, Kadian, Avinza)"):
        # the question calls it a medicine ("desonide ointment"), or asks what only a medicine has of a word that
        # rare in the knowledge ("contraindications for kadian"), or it is the other half of an interaction
        # ("metamucil with ciprofloxacin").  The answer must then be about it, not about what is nearest.
        products = [w for w, n in dict.fromkeys(rare) if _beside_a_product_word(w, query.english)
                    or (product_aspect and n <= RARE_NAME_PASSAGES and subject(w))]
        partners = [w for w, _ in dict.fromkeys(rare)
                    if aspects[0].name == "interaction" and len(drugs) == 1 and subject(w)]
        if (not drugs and not classes and products) or partners:
            classes += [FocusClass(f"name:{word}", word, word, ()) for word in dict.fromkeys(products + partners)]
        diseases = tuple(e for e in query.entities if e.kind == "disease")
        return QuestionFocus(tuple(drugs.values()), tuple(classes), diseases, aspects, tuple(dict.fromkeys(unknown)))

    # -- drugs ---------------------------------------------------------------------------------------------
    @staticmethod
    def _windows(resolver: DrugNameResolver, words: Sequence[str]) -> Iterable[tuple[int, int, tuple[str, ...], str]]:
        """(start, end, drug ids, how) for the word windows that resolve, longest first at each start."""
        for start in range(len(words)):
            if words[start] in ENGLISH_STOP_WORDS or words[start] in _QUESTION_WORDS:
                continue
            for size in range(min(MAX_WINDOW, len(words) - start), 0, -1):
                window = words[start : start + size]
                if window[-1] in ENGLISH_STOP_WORDS or (size > 1 and window[-1] in _QUESTION_WORDS
                                                          and window[-1] not in SALT_WORDS):
                    continue
                found = resolver.lookup(" ".join(window))
                if found is not None and found.drug_ids:
                    yield start, start + size, found.drug_ids, found.matched_by or "generic"
                    break

    @staticmethod
    def _focus_drug(resolver: DrugNameResolver, drug_id: str, surface: str, how: str) -> FocusDrug:
        record = resolver.drugs[drug_id]
        names = resolver.names_of(drug_id)
        generic = [normalize_name(n) for n in names["en"]]
        found = [n for n in generic if _usable_name(n, True)]
        found += [normalize_name(n) for n in (*names["brands"], *names["aliases"])
                  if _usable_name(normalize_name(n), False)]
        found += [n for n in names["zh"] if n]
        keep_surface = how not in ("misspelling", "combination") and surface
        if keep_surface and _usable_name(normalize_name(surface), how != "brand"):
            found.append(normalize_name(surface))
        return FocusDrug(drug_id, record.name, surface, how, tuple(dict.fromkeys(n for n in found if n)))

    def _find_classes(self, words: Sequence[str], used: list[bool]) -> list[FocusClass]:
        out: list[FocusClass] = []
        for start in range(len(words)):
            for size in range(min(4, len(words) - start), 0, -1):
                if any(used[start : start + size]):
                    continue
                key = " ".join(words[start : start + size])
                cid = self._class_keys.get(key)
                if cid is not None:
                    name, members = self._classes[cid]
                    out.append(FocusClass(cid, name, key, members))
                    for i in range(start, start + size):
                        used[i] = True
                    break
        return out

    @staticmethod
    def _candidate_name(word: str) -> bool:
        """A word that may be a product name: letters (a hyphen or digits inside), not a common word, and not a
        typo of a word questions use ("tabet" for tablet)."""
        if len(word) < 4 or not word[0].isalpha() or word in ENGLISH_STOP_WORDS or word in _QUESTION_WORDS:
            return False
        if word in SALT_WORDS or english_zipf(word) >= RARE_WORD_ZIPF:
            return False
        return not difflib.get_close_matches(word, _QUESTION_WORDS, n=1, cutoff=0.8)

    def _misspelling(self, resolver: DrugNameResolver, word: str) -> tuple[str, bool] | None:
        """(drug id, abbreviated) for the one drug whose generic name ``word`` misspells (difflib ratio ≥ 0.85,
        six letters or more, same first letter) or begins ("cipro" for ciprofloxacin: five letters or more, one
        drug only)."""
        if len(word) < 5 or not word.isalpha():
            return None
        generics = self._generic_names(resolver)
        starting = generics.starting(word)
        if len(starting) == 1:
            return next(iter(starting)), True
        if len(word) < 6:
            return None
        ids = {d for name in generics.close(word) for d in generics.ids[name]}
        return (next(iter(ids)), False) if len(ids) == 1 else None

    def _unknown_chinese(self, query: AnalyzedQuery) -> list[str]:
        """Runs of Chinese characters that name no linked entity, are no glossary word, and are rare in Chinese
        ("地西泮" when the graph knows diazepam only as 安定): a drug name the knowledge does not hold."""
        import jieba

        text = query.normalized
        masked = list(text)
        for entity in query.entities:
            for i in range(entity.start, entity.end):
                masked[i] = " "
        out: list[str] = []
        for run in re.findall(r"[\u4e00-\u9fff]{2,}", "".join(masked)):
            kept: list[str] = []
            current = ""
            pieces = jieba.lcut(run)
            for piece in pieces:
                common = (piece in self._han_stop or piece in self._glossary
                          or (len(piece) >= 2 and chinese_zipf(piece) >= 3.0))
                if common:
                    if current:
                        kept.append(current)
                    current = ""
                else:
                    current += piece
            if current:
                kept.append(current)
            found = [k for k in kept if len(k) >= 2 and chinese_zipf(k) < 2.0]
            for name in self._drug_shaped(pieces):
                found = [k for k in found if k not in name] + [name]
            out += list(dict.fromkeys(found))
        return out

    def _drug_shaped(self, pieces: list[str]) -> list[str]:
        """Transliterated drug names that the segmenter cut into frequent-looking pieces ("西替" + "利嗪",
        "度" + "普利" + "尤" + "单抗"): pieces that are no stop or glossary word, joined up to the last one that
        ends the way approved drug names end, when the whole is not a word of Chinese."""
        names: list[str] = []
        sequence: list[str] = []
        for piece in [*pieces, ""]:
            if piece and piece not in self._han_stop and piece not in self._glossary:
                sequence.append(piece)
                continue
            ends = [i for i, p in enumerate(sequence) if p[-1] in DRUG_NAME_ENDINGS]
            if ends:
                name = "".join(sequence[: ends[-1] + 1])
                if len(name) >= 3 and chinese_zipf(name) < 1.0:
                    names.append(name)
            sequence = []
        return names

    def _generic_names(self, resolver: DrugNameResolver) -> GenericNames:
        if self._generics_of is None or self._generics_of[0] is not resolver:
            self._generics_of = (resolver, GenericNames.of(resolver))
        generics: GenericNames = self._generics_of[1]
        return generics


@dataclass(frozen=True)
class GenericNames:
    """The one-word generic names of the graph's drugs, indexed for prefixes and near misses (a search reads
    every question: a scan of all names per rare word cost ~10 ms)."""

    names: tuple[str, ...]  # sorted
    ids: dict[str, list[str]]
    by_initial: dict[str, list[str]]

    @classmethod
    def of(cls, resolver: DrugNameResolver) -> GenericNames:
        ids: dict[str, list[str]] = {}
        for drug_id, record in resolver.drugs.items():
            for name in (record.name, *record.names_en):
                key = normalize_name(name)
                if key.isalpha() and len(key) >= 5:
                    ids.setdefault(key, []).append(drug_id)
        names = tuple(sorted(ids))
        by_initial: dict[str, list[str]] = {}
        for name in names:
            by_initial.setdefault(name[0], []).append(name)
        return cls(names, ids, by_initial)

    def starting(self, prefix: str) -> set[str]:
        """The drugs with a generic name that begins with ``prefix`` and is at least three letters longer."""
        found: set[str] = set()
        for i in range(bisect.bisect_left(self.names, prefix), len(self.names)):
            name = self.names[i]
            if not name.startswith(prefix):
                break
            if len(name) >= len(prefix) + 3:
                found.update(self.ids[name])
        return found

    def close(self, word: str) -> list[str]:
        """The (at most two) names ``word`` misspells: same first letter, length within three."""
        pool = [n for n in self.by_initial.get(word[0], []) if abs(len(n) - len(word)) <= 3]
        return difflib.get_close_matches(word, pool, n=2, cutoff=MISSPELLING_CUTOFF)


# Dosage forms of one product ("injection" and "medications" also name procedures and groups).
_PRODUCT_WORD = r"(?:pills?|tablets?|capsules?|caplets?|creams?|ointments?|inhalers?|vaccines?|drops|gel|spray|syrup)"


def _share(word: str, words: Sequence[str], aspect: Aspect) -> float:
    """The share of the question's content words (not stop words, question words or the aspect's cue) that is
    ``word``."""
    content = [w for w in words if len(w) > 2 and w not in ENGLISH_STOP_WORDS and w not in _QUESTION_WORDS
               and not aspect.cues.search(w)]
    return content.count(word) / len(content) if content else 0.0


def _beside_a_product_word(word: str, question: str) -> bool:
    beside = rf"\b{re.escape(word)}\s+{_PRODUCT_WORD}\b|\b{_PRODUCT_WORD}\s+(?:of\s+)?{re.escape(word)}\b"
    return re.search(beside, question, re.I) is not None


def without_names(text: str, names: Iterable[str]) -> str:
    """``text`` with these names taken out (whole words, case-insensitive, longest first), spaces collapsed."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", text, flags=re.I)
    return " ".join(text.split())


def names_in(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` names any of ``names`` (lower-case; whole words for Latin names, substrings for Chinese)."""
    lowered = text.lower()
    for name in names:
        if not name:
            continue
        if not name.isascii():
            if name in lowered:
                return True
            continue
        at = lowered.find(name)
        while at >= 0:
            before = lowered[at - 1] if at > 0 else " "
            after = lowered[at + len(name)] if at + len(name) < len(lowered) else " "
            if not before.isalnum() and not after.isalnum():
                return True
            at = lowered.find(name, at + 1)
    return False
