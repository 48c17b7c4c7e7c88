"""Drug name resolution: one resolver for every interface (drug cards, interaction checks, CLI, EMR).

A name resolves when it is, after normalisation (NFKC, case, punctuation, spaces), exactly one of:
a DrugBank id or UNII; a generic name or English synonym; a Chinese name; a brand (from the graph or from
an indexed label's brand name); a hospital alias (``medevidence index aliases.jsonl``); or one of those
followed by salt / form words ("clopidogrel bisulfate", "METFORMIN HCL tablets").  "a / b" and "a + b"
resolve to each ingredient.  Anything else is *unresolved*, with fuzzy suggestions — a misspelling is
never silently matched to a drug.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.graph_model import DrugRecord, GraphKnowledge
from app.knowledge import SALT_WORDS, normalize_name

_ZH_SALTS = ("片", "胶囊", "注射液", "钠", "钾", "钙", "盐酸", "硫酸氢", "缓释片", "肠溶片")
_SPLIT = re.compile(r"\s*(?:/|\+|,| and | with |、|和|与)\s*", re.IGNORECASE)
_DRUGBANK = re.compile(r"^db\d{5}$", re.IGNORECASE)


def _droppable(word: str) -> bool:
    """A salt, dosage-form or strength word that does not change which drug is meant."""
    return word in SALT_WORDS or re.fullmatch(r"\d+(?:\.\d+)?(?:mg|g|ml|mcg|µg|%)?", word) is not None


@dataclass(frozen=True)
class Resolution:
    """What one input name resolved to."""

    input: str
    drug_ids: tuple[str, ...] = ()
    matched_by: str | None = None  # id | generic | chinese | brand | label brand | alias | salt-stripped
    suggestions: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.drug_ids)


@dataclass
class _Index:
    exact: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)

    def add(self, key: str, drug_ids: Iterable[str], how: str) -> None:
        key = normalize_name(key)
        if not key:
            return
        ids = tuple(dict.fromkeys(drug_ids))
        if key in self.exact and self.exact[key][1] in ("id", "generic", "chinese") and how not in ("id", "generic"):
            return  # a brand or alias never overrides a generic name
        if key in self.exact and self.exact[key][0] != ids and how == self.exact[key][1]:
            ids = tuple(dict.fromkeys(self.exact[key][0] + ids))  # the same brand on two products: both
        self.exact[key] = (ids, how)


class DrugNameResolver:
    def __init__(self, knowledge: GraphKnowledge, label_brands: dict[str, list[str]] | None = None,
                 aliases: dict[str, str] | None = None) -> None:
        """``label_brands``: brand → drug ids (from indexed labels); ``aliases``: hospital alias → drug id."""
        self.drugs: dict[str, DrugRecord] = {d.id: d for d in knowledge.drugs}
        index = _Index()
        for d in knowledge.drugs:
            index.add(d.id, [d.id], "id")
            if d.unii:
                index.add(d.unii, [d.id], "id")
            for name in (d.name, *d.names_en):
                index.add(name, [d.id], "generic")
            for name in d.names_zh:
                index.add(name, [d.id], "chinese")
            for brand in d.brands:
                index.add(brand, [d.id], "brand")
        for brand, ids in (label_brands or {}).items():
            known = [i for i in ids if i in self.drugs]
            if known:
                index.add(brand, known, "label brand")
        for alias, drug_id in (aliases or {}).items():
            if drug_id in self.drugs:
                index.add(alias, [drug_id], "alias")
        self._index = index.exact
        self._names: dict[str, dict[str, list[str]]] = {}
        kinds = {"brand": "brands", "label brand": "brands", "alias": "aliases"}
        for key, (drug_ids, how) in self._index.items():
            if how in kinds:
                for drug_id in drug_ids:
                    self._names.setdefault(drug_id, {"brands": [], "aliases": []})[kinds[how]].append(key)
        self._en_keys = sorted(k for k in self._index if k.isascii())
        self._zh_keys = sorted(k for k in self._index if not k.isascii())

    def resolve(self, name: str) -> Resolution:
        key = normalize_name(name)
        if not key:
            return Resolution(name)
        hit = self._lookup(key)
        if hit is not None:
            return Resolution(name, hit[0], hit[1])
        raw = unicodedata.normalize("NFKC", name).lower()
        parts = [normalize_name(p) for p in _SPLIT.split(raw) if normalize_name(p)]
        if len(parts) > 1:
            found = [self._lookup(p) for p in parts]
            if all(found):
                ids = tuple(dict.fromkeys(i for f in found if f for i in f[0]))
                return Resolution(name, ids, "combination")
        return Resolution(name, suggestions=self.suggest(key))

    def lookup(self, name: str) -> Resolution | None:
        """``resolve`` without the fuzzy suggestions (cheap: for scanning a question's word windows);
        None when ``name`` names no drug."""
        key = normalize_name(name)
        if not key:
            return None
        hit = self._lookup(key)
        if hit is not None:
            return Resolution(name, hit[0], hit[1])
        parts = [normalize_name(p) for p in _SPLIT.split(unicodedata.normalize("NFKC", name).lower())
                 if normalize_name(p)]
        if len(parts) > 1:
            found = [self._lookup(p) for p in parts]
            if all(found):
                return Resolution(name, tuple(dict.fromkeys(i for f in found if f for i in f[0])), "combination")
        return None

    def _lookup(self, key: str) -> tuple[tuple[str, ...], str] | None:
        if key in self._index:
            return self._index[key]
        if _DRUGBANK.match(key) and key.upper() in self.drugs:
            return (key.upper(),), "id"
        words = key.split()
        while len(words) > 1 and _droppable(words[-1]):
            words.pop()
            candidate = " ".join(words)
            if candidate in self._index:
                return self._index[candidate][0], "salt-stripped"
        while len(words) > 1 and words[0] in SALT_WORDS:  # "sodium warfarin"
            words.pop(0)
            candidate = " ".join(words)
            if candidate in self._index:
                return self._index[candidate][0], "salt-stripped"
        for salt in _ZH_SALTS:
            stripped = key.replace(salt, "")
            if stripped != key and stripped in self._index:
                return self._index[stripped][0], "salt-stripped"
        return None

    def suggest(self, key: str, limit: int = 5) -> tuple[str, ...]:
        """Close names (edit similarity ≥ 0.75), as '<name> (<drug>)'; never used to resolve."""
        keys = self._en_keys if key.isascii() else self._zh_keys
        cutoff = 0.75 if key.isascii() else 0.5
        out = []
        for match in difflib.get_close_matches(key, keys, n=limit * 2, cutoff=cutoff):
            ids, _ = self._index[match]
            label = ", ".join(self.drugs[i].name for i in ids)
            entry = match if match == label.lower() else f"{match} ({label})"
            if entry not in out:
                out.append(entry)
        return tuple(out[:limit])

    def names_of(self, drug_id: str) -> dict[str, Any]:
        """Every name a drug is known by: English, Chinese, brands (graph, labels, aliases)."""
        d = self.drugs[drug_id]
        extra = self._names.get(drug_id, {"brands": [], "aliases": []})
        brands, aliases = sorted(set(extra["brands"])), sorted(set(extra["aliases"]))
        return {"en": list(dict.fromkeys([d.name, *d.names_en])), "zh": list(d.names_zh), "brands": brands,
                "aliases": aliases}
