"""The drug assistant's one entry point for the API and the CLI: cards, interaction checks, the hospital's rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.drugs.cards import drug_card
from app.drugs.catalog import DrugCatalog
from app.drugs.coverage import Coverage
from app.drugs.interactions import MAX_DRUGS, check_interactions
from app.drugs.local_rules import rules_listing
from app.errors import FieldError
from app.text.validity import text_problem

MAX_NAME_CHARS = 200


class DrugRequestError(FieldError):
    """A drug-card or interaction request field that is out of bounds."""


class UnknownDrug(LookupError):
    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        hint = f"; did you mean: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"{name!r} does not name a known drug{hint}")
        self.name = name
        self.suggestions = suggestions


class DrugService:
    def __init__(self, catalog: DrugCatalog) -> None:
        """``catalog``: the server's searcher's, so its name resolver and label caches are built once per process."""
        self.catalog = catalog
        self.coverage = Coverage(self.catalog)

    def warm_up(self) -> None:
        """Build the name resolver now (about a second), not on the first request."""
        _ = self.catalog.resolver

    def card(self, name: str) -> dict[str, Any]:
        if not name.strip() or len(name) > MAX_NAME_CHARS:
            raise DrugRequestError("name", f"must be 1 to {MAX_NAME_CHARS} characters")
        if (problem := text_problem(name)) is not None:
            raise DrugRequestError("name", problem)
        result = self.catalog.resolver.resolve(name)
        if len(result.drug_ids) != 1:
            if result.drug_ids:  # a combination product: one card per ingredient is the caller's choice
                names = ", ".join(self.catalog.resolver.drugs[d].name for d in result.drug_ids)
                raise UnknownDrug(name, (names,))
            raise UnknownDrug(name, result.suggestions)
        return {"query": name, "matched_by": result.matched_by,
                **drug_card(self.catalog, result.drug_ids[0], self.coverage)}

    def knowledge_coverage(self) -> dict[str, Any]:
        """What the indexed knowledge holds, per source, with totals (cached per index generation)."""
        return self.coverage.knowledge()

    def rules(self) -> dict[str, Any]:
        """The hospital's indexed rules: what each binds, whether it applies today, names it could not resolve."""
        return rules_listing(self.catalog.rules(), self.catalog.resolver, date.today())

    def interactions(self, medications: list[str]) -> dict[str, Any]:
        if len(medications) < 2:
            raise DrugRequestError("medications", "give at least two medications")
        if len(medications) > MAX_DRUGS:
            raise DrugRequestError("medications", f"at most {MAX_DRUGS} medications")
        for i, name in enumerate(medications):
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
                raise DrugRequestError(f"medications.{i}", f"must be 1 to {MAX_NAME_CHARS} characters")
            if (problem := text_problem(name)) is not None:
                raise DrugRequestError(f"medications.{i}", problem)
        return check_interactions(self.catalog, medications)
