"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""


class UserError(Exception):
    """A mistake in the user's input: bad config, unknown name, malformed arch, missing file.

    ``str(error)`` speaks the Python API's terms (config keys, methods); ``cli`` is the same message in the
    command line's terms (flags, commands) where they differ, and the CLI prints ``error.cli_message``."""

    def __init__(self, message: str, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli = cli

    @property
    def cli_message(self) -> str:
        return self.cli if self.cli is not None else str(self)


class ArchError(UserError, ValueError):
    """An architecture string or mapping that does not belong to the space."""


class SearchAborted(UserError):
    """Raised inside a trial to stop the whole search rather than fail the trial (e.g. an arch that a partial
    table lacks, with ``missing: error``); the trials before it stay stored."""
