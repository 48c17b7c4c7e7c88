"""Which kind of label section a heading is (FDA label headings vary by label and by era)."""

from __future__ import annotations

# Label section kinds: the first heading pattern that matches decides (contraindications before indications).
SECTION_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("boxed_warning", ("boxed warning",)),
    ("contraindications", ("contraindication", "do not use")),
    ("indications", ("indications", "uses")),
    ("dosage", ("dosage", "directions")),
    ("interactions", ("drug interactions", "interactions")),
    ("adverse_reactions", ("adverse reactions", "side effects")),
    ("specific_populations", ("specific populations", "pregnancy", "nursing", "lactation", "pediatric use",
                              "geriatric use")),
    ("warnings", ("warnings", "precautions")),
)
CARD_ORDER: tuple[str, ...] = ("boxed_warning", "indications", "dosage", "contraindications", "warnings",
                               "interactions", "adverse_reactions", "specific_populations")


def section_kind(heading: str) -> str | None:
    text = heading.lower()
    for kind, patterns in SECTION_KINDS:
        if any(p in text for p in patterns):
            return kind
    return None
