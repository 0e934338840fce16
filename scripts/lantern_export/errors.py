"""Exit codes of export_model.py and the refusal every check raises."""

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refusal(Exception):
    """The checkpoint cannot be exported for Lantern; the message says why."""
