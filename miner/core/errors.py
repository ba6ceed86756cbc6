"""Errors a user can act on. The CLI prints their message on one line and exits 2."""


class MinerError(Exception):
    """A problem with the user's input or setup: bad plan, missing credentials, bad SQL."""
