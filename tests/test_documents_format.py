"""The generic document format: parsing and the errors that name their field."""

from __future__ import annotations

import pytest

from app.documents import DocumentError, parse_document


def test_text_form_and_detected_language() -> None:
    doc = parse_document({"id": "h-1", "title": "华法林剂量方案", "text": "华法林的起始剂量通常为每日2至5毫克。"})
    assert doc.language == "zh"
    assert doc.source_type == "other"
    assert doc.text == "华法林的起始剂量通常为每日2至5毫克。"


def test_sections_form_keeps_unknown_fields_in_metadata() -> None:
    doc = parse_document(
        {
            "id": "g-1",
            "title": "Guideline",
            "sections": [{"heading": "Dosing", "text": "Start low."}, {"heading": "Monitoring", "text": "Check INR."}],
            "source_type": "guideline",
            "published": "2024-05",
            "ward": "cardiology",
            "metadata": {"study_design": "rct"},
        }
    )
    assert doc.text == "Start low.\n\nCheck INR."
    assert [s.heading for s in doc.sections] == ["Dosing", "Monitoring"]
    assert doc.published == "2024-05-01"
    assert doc.metadata == {"study_design": "rct", "ward": "cardiology"}


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"text": "x"}, "id"),
        ({"id": "", "text": "x"}, "id"),
        ({"id": "a"}, "text"),
        ({"id": "a", "text": "   "}, "text"),
        ({"id": "a", "text": 3}, "text"),
        ({"id": "a", "text": "x", "source_type": "blog"}, "source_type"),
        ({"id": "a", "text": "x", "published": "May 2024"}, "published"),
        ({"id": "a", "text": "x", "published": "2024-13-01"}, "published"),
        ({"id": "a", "sections": [{"heading": "h"}]}, "sections[0].text"),
        ({"id": "a", "sections": []}, "sections"),
        ({"id": "a", "text": "x", "language": "fr"}, "language"),
        ({"id": "a", "text": "x", "metadata": []}, "metadata"),
    ],
)
def test_bad_documents_name_the_field(obj: dict[str, object], field: str) -> None:
    with pytest.raises(DocumentError) as err:
        parse_document(obj)
    assert err.value.field == field
