"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""


class UserError(Exception):
    """A mistake in the user's input: bad config, unknown name, malformed arch, missing file."""


class ArchError(UserError, ValueError):
    """An architecture string or mapping that does not belong to the space."""


class SearchAborted(UserError):
    """Raised inside a trial to stop the whole search rather than fail the trial (e.g. an arch that a partial
    table lacks, with ``missing: error``); the trials before it stay stored."""
