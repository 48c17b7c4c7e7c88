"""The search and ask requests, one model each for every interface that takes them.

``POST /v1/search`` and ``POST /v1/ask`` validate their JSON bodies with these models, and ``medevidence search
--queries`` validates each line of a batch file with the same ``SearchBody``: what one interface refuses the other
refuses too, naming the same field.  ``checked()`` then applies the checks a model does not express (blank text,
dates: ``app.retrieval.search``) and gives what the searcher takes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from app.model import SearchFilters, SourceType
from app.retrieval.search import MAX_K, SearchRequestError, check_query, parse_filters
from app.text.validity import text_problem


def _storable(value: Any) -> Any:
    """Text that cannot be stored (a lone surrogate, NUL) is refused with the reason, before the type check
    (which calls a lone surrogate only "not a valid string")."""
    problem = text_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise PydanticCustomError("invalid_text", "{problem}", {"problem": problem})
    return value


StorableText = Annotated[str, BeforeValidator(_storable)]


class SearchFiltersBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    source_type: list[SourceType] | None = Field(
        default=None, description="Keep only these source types."
    )
    published_from: str | None = Field(default=None, description="ISO date (YYYY, YYYY-MM or YYYY-MM-DD), inclusive.")
    language: Literal["en", "zh"] | None = Field(default=None, description="Language of the evidence.")

    @staticmethod
    def checked(filters: SearchFiltersBody | None) -> SearchFilters | None:
        """The filters as the searcher takes them; raises ``SearchRequestError`` naming the field."""
        return parse_filters(filters.model_dump(exclude_none=True) if filters else None)


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    query: StorableText = Field(description="The question or keywords, Chinese or English.", min_length=1,
                                max_length=2000)
    k: int = Field(default=10, ge=1, le=MAX_K, description="Number of hits.")
    filters: SearchFiltersBody | None = Field(default=None, description="Pushed down into the index.")

    def checked(self) -> tuple[str, int, SearchFilters | None]:
        """(query, k, filters) as the searcher takes them; raises ``SearchRequestError`` naming the field."""
        query, k = check_query(self.query, self.k)
        return query, k, SearchFiltersBody.checked(self.filters)


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    question: StorableText = Field(description="The clinical question, Chinese or English.", min_length=1,
                                   max_length=2000)
    k: int | None = Field(default=None, ge=1, le=20, description="Evidence passages given to the answerer.")
    filters: SearchFiltersBody | None = Field(default=None, description="Restrict the evidence (as /v1/search).")
    conversation_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Continue a conversation: follow-ups are rewritten with its earlier turns.",
    )
    stream: bool = Field(default=False, description="Server-sent events: evidence, delta, citations, done.")
    include_reasoning: bool = Field(default=False, description="Return the model's reasoning (it is always traced).")

    def checked(self) -> tuple[str, SearchFilters | None]:
        """(question, filters) as the answerer takes them; raises ``SearchRequestError`` naming the field."""
        question, _ = check_query(self.question, 1, "question")
        return question, SearchFiltersBody.checked(self.filters)


def request_error(exc: ValidationError) -> SearchRequestError:
    """A model's first complaint as the field it names and why, as the API's 422 body reports it."""
    first = exc.errors()[0]
    return SearchRequestError(".".join(str(part) for part in first["loc"]) or "request", first["msg"])
