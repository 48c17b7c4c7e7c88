"""Where the ONC interaction tables live in the index, and how a table section names its pair.

Each listed drug has one table document per list, ``onc-high:<drugbank id>`` and ``onc-low:<drugbank id>``,
with one section per partner headed "Drug + Partner".
"""

from __future__ import annotations

from app.model import Section

TABLE_DOC_IDS = {"high": "onc-high:{}", "low": "onc-low:{}"}  # severity -> document id template


def table_doc_id(severity: str, drug_id: str) -> str | None:
    template = TABLE_DOC_IDS.get(severity)
    return template.format(drug_id) if template else None


def listed_partner(section: Section) -> str:
    """The partner a table section lists, lower case ("Amiodarone + Anagrelide" -> "anagrelide")."""
    return section.heading.split("+", 1)[-1].strip().lower()
