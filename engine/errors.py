"""Base class for mistakes a person made (bad input, forbidden action, stale version).

Interfaces print ``str(exc)`` and exit/return an error status; never a traceback."""


class UserError(Exception):
    pass


class PermissionDenied(UserError):
    pass


class Conflict(UserError):
    """Someone else changed the record since it was read (optimistic version check)."""
