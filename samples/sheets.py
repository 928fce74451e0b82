"""Sample-sheet import (CSV and XLSX). Interface only; being implemented.

    import_sheet(*, shipment, user, uploaded_file) -> ImportResult   # raises SheetError, Frozen
    template_csv() -> bytes
    template_xlsx() -> bytes
"""

from dataclasses import dataclass, field


@dataclass
class SheetProblem:
    line: int | None  # 1-based line/row number in the file (the header is line 1); None for the whole file
    column: str | None  # the column's header as in the template, e.g. "Sample name"
    message: str


class SheetError(Exception):
    """A sheet that cannot be imported; every problem found, by line and column. Nothing was saved."""

    def __init__(self, problems: list[SheetProblem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class ImportResult:
    dewars: int = 0
    containers: int = 0
    samples: int = 0
    messages: list[str] = field(default_factory=list)


def import_sheet(*, shipment, user, uploaded_file) -> ImportResult:
    raise NotImplementedError


def template_csv() -> bytes:
    raise NotImplementedError


def template_xlsx() -> bytes:
    raise NotImplementedError
