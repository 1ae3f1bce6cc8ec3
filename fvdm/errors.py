"""The one exception type users see.

Everything that fails because of what a user gave us (a file, a number, a plan) raises
`FVDMInputError` with a sentence a person can act on. The CLI prints it as one line and exits
non-zero; the app turns it into `gr.Error`. Anything else is a bug and keeps its traceback.
"""


class FVDMInputError(ValueError):
    """Bad user input: a missing or unreadable file, an invalid plan, an out-of-range number."""
