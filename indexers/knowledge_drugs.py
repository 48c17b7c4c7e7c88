"""The drug registry of the knowledge build: each drug once, found again by any of its names.

``knowledge_graph_build`` fills it from the vocabulary; ``knowledge_graph_sources`` adds what the later label and
interaction sources name.  Both use the same registry through this module, never through each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.graph_model import DrugRecord
from app.knowledge import SALT_WORDS

MAX_NAMES = 12
TYPOS = {"esmoprazole": "esomeprazole", "voreconazole": "voriconazole",
         "lisdexamefetamine": "lisdexamfetamine"}  # misspellings in the ONC xls
EN_NAME = re.compile(r"^[a-z][a-z0-9' \-]*[a-z0-9]$")
_PAREN = re.compile(r"\s*[(\uff08\[]([^)\uff09\]]*)[)\uff09\]]")


def norm(name: str) -> str:
    """Lower-case, unify dashes/quotes, drop bracketed source tags (``[INN]``), collapse spaces."""
    text = name.replace("\u2010", "-").replace("\u2011", "-").replace("\u2019", "'").replace("ß", "β")
    text = re.sub(r"\s*\[[^\]]*\]", "", text.lower())
    return re.sub(r"\s+", " ", text).strip(" .")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", norm(name).replace("β", "beta").replace("'", "")).strip("-")


def en_variants(name: str) -> list[str]:
    """A name without its parenthesis, plus a parenthesised alias ("epinefrine (adrenaline)")."""
    base = norm(_PAREN.sub("", name))
    aliases = [norm(m) for m in _PAREN.findall(name) if re.fullmatch(r"[A-Za-z \-]{4,}", m.strip())
               and norm(m) not in ("human", "soluble") and " or " not in m and not m.startswith("of ")]
    return [v for v in [base, *aliases] if v]


def zh_variants(name: str) -> list[str]:
    return [v for v in dict.fromkeys([name.strip(), _PAREN.sub("", name).strip()]) if v]


@dataclass
class RegistryDrug:
    id: str
    name: str
    names_en: list[str] = field(default_factory=list)
    names_zh: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    drugbank: str | None = None
    unii: str | None = None
    set_ids: list[str] = field(default_factory=list)

    def add(self, attr: str, values: list[str], limit: int = MAX_NAMES) -> None:
        items: list[str] = getattr(self, attr)
        items.extend(v for v in dict.fromkeys(values) if v and v not in items)
        del items[limit:]

    def record(self) -> DrugRecord:
        return DrugRecord(self.id, self.name, tuple(self.names_en), tuple(self.names_zh), tuple(self.brands),
                          self.drugbank, self.unii, tuple(sorted(self.set_ids)))


class DrugRegistry:
    """The drugs of the knowledge being built, with a normalized-name index (the first drug to claim a name
    keeps it)."""

    def __init__(self) -> None:
        self.by_id: dict[str, RegistryDrug] = {}
        self.index: dict[str, str] = {}

    def add(self, drug_id: str, name: str, drugbank: str | None = None) -> RegistryDrug:
        if drug_id not in self.by_id:
            self.by_id[drug_id] = RegistryDrug(drug_id, name.strip(), drugbank=drugbank)
            self.alias(self.by_id[drug_id], [norm(name)])
        return self.by_id[drug_id]

    def alias(self, drug: RegistryDrug, names: list[str]) -> None:
        drug.add("names_en", [n for n in names if EN_NAME.match(n) and 4 <= len(n) <= 40 and n.count(" ") < 4
                              and " component " not in n and "impurity" not in n])
        for name in names:
            self.index.setdefault(name, drug.id)

    def find(self, name: str) -> RegistryDrug | None:
        """By name, alias, known misspelling, or the name without trailing salt words."""
        words = norm(name).split()
        candidates = [norm(name), *en_variants(name), TYPOS.get(norm(name), "")]
        candidates += [" ".join(words[:n]) for n in range(len(words) - 1, 0, -1) if words[n] in SALT_WORDS]
        return next((self.by_id[self.index[c]] for c in candidates if c in self.index), None)
