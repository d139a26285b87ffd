"""The one exception hierarchy of darkfigure.

Every error a user can cause is a :class:`DarkfigureError`. Messages say what was expected, what was
received and how to fix it. The command line turns these into one line and exit code 2; the web
application into a 4xx page. Nothing else should be raised for bad input.
"""

from __future__ import annotations


class DarkfigureError(Exception):
    """Base class of every error darkfigure raises on purpose."""


class InputError(DarkfigureError, ValueError):
    """Input data or arguments are not what darkfigure can use.

    ``source``, ``row`` and ``column`` locate the problem when it comes from a file: ``row`` counts
    data rows from 1 as a spreadsheet shows them (the header is row 1, so the first data row is 2).

    >>> str(InputError("counts must be whole numbers", source="t.csv", row=3, column="count"))
    't.csv, row 3, column count: counts must be whole numbers'
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.column = column
        super().__init__(self._located())

    def _located(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def located(self, source: str) -> InputError:
        """The same error, now naming the file it came from."""
        return InputError(self.message, source=source, row=self.row, column=self.column)


class EstimationError(DarkfigureError):
    """A model or method cannot give an estimate for these data (say why, and what to try)."""


class ModelNotEstimable(EstimationError):
    """The maximum likelihood estimate of a log-linear model does not exist or is not identifiable.

    ``code`` follows SparseMSE's ``checkident``: 1 the MLE does not exist, 2 the model is not
    identifiable, 3 both.
    """

    def __init__(self, message: str, code: int) -> None:
        self.code = code
        super().__init__(message)


class LinkageError(DarkfigureError):
    """Record linkage could not be carried out as configured."""


class PrivacyBudgetExceeded(DarkfigureError):
    """A release would spend more privacy budget than is left."""


class AccessDenied(DarkfigureError):
    """The user may not see or change this record."""
