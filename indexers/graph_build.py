"""Link documents to the graph's entities: the drugs a label is of, the drugs and diseases a text mentions.

The write side of the graph knowledge: what the index stores for each document version.  Reading the knowledge
files and finding names in text is ``app/knowledge.py`` (the running service needs it too).
"""

from __future__ import annotations

from typing import Any

from app.graph_model import DocumentLinks
from app.knowledge import SALT_WORDS, EntityDictionary
from app.model import Document

#: Metadata that says which drug a label is of (the sources' labels all carry some of it).
_LABEL_IDENTITY = ("set_id", "unii", "generic_name", "active_ingredient", "brand_name")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def described_drugs(doc: Document, dictionary: EntityDictionary) -> tuple[str, ...]:
    """Drugs a label document is the label of: by set id, then UNII, then generic/ingredient name."""
    if doc.source_type != "label":
        return ()
    meta = doc.metadata
    set_ids = _as_list(meta.get("set_id")) + [doc.id.split(":", 1)[-1]]
    ids = [d for s in set_ids for d in dictionary.by_set_id.get(s, [])]
    ids = ids or [d for u in _as_list(meta.get("unii")) for d in dictionary.by_unii.get(u, [])]
    names = _as_list(meta.get("generic_name")) + _as_list(meta.get("active_ingredient"))
    ids = ids or [d for n in names for d in dictionary.drugs_named(n)]
    ids = ids or [d for n in _as_list(meta.get("brand_name")) for d in dictionary.drugs_named(n)]
    if not ids and not any(meta.get(k) for k in _LABEL_IDENTITY):
        # a hospital's own label (a PDF 说明书, a formulary monograph) carries none of these: its title names its
        # drug ("华法林钠片说明书"); a salt word of the name ("Losartan Potassium") is not a second drug (a Chinese
        # salt, 钠 or 钾, is one character: never a name the dictionary matches)
        ids = [m.entity_id for m in dictionary.find_mentions(doc.title)
               if m.kind == "drug" and m.surface.lower() not in SALT_WORDS]
    return tuple(sorted(set(ids)))


def links_for(doc: Document, dictionary: EntityDictionary) -> DocumentLinks:
    """The graph links of one document version: the drugs it is the label of and what it mentions."""
    mentioned: set[str] = set()
    for text in (doc.title, doc.text):
        mentioned.update(m.entity_id for m in dictionary.find_mentions(text))
    return DocumentLinks(
        doc_id=doc.id,
        version=doc.version,
        title=doc.title,
        source_type=doc.source_type,
        described_drugs=described_drugs(doc, dictionary),
        mentions=tuple(sorted(mentioned)),
    )
