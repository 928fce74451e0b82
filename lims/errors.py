"""Domain errors: a rule of the domain refused a request. The API answers 409, the page shows the message.

Bad input (a field that is wrong) is a django ``ValidationError`` instead: the API answers 400 with the
field errors, the form shows them beside the fields.
"""


class DomainError(Exception):
    """A request that the state of things does not allow; ``code`` is machine-readable."""

    code = "conflict"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(Exception):
    """Input refused as a whole (a file, a batch), with every problem found: the API answers 400 with
    ``{"detail", "code", "errors": problems_json()}``. Nothing was saved."""

    detail = "The input cannot be accepted."
    code = "invalid"

    def problems_json(self) -> list[dict]:
        return []


class InvalidTransition(DomainError):
    """A status change that the status machine does not allow from the current status."""

    code = "invalid_transition"


class Frozen(DomainError):
    """The object can no longer be changed by this user (e.g. a shipment after it was sent)."""

    code = "frozen"
