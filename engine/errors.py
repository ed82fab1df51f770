"""The one root of the errors Steer raises on purpose.

``SteerError`` is the root. Its ``UserError`` branch is a mistake a person made (bad input,
a forbidden action, a stale version, a file that cannot be read, a database at the wrong
schema): interfaces print ``str(exc)`` and exit/return an error status, never a
traceback. The CLI (``cli.common.handled``) and the web map ``UserError`` — and nothing
else — to a message; any other exception is a bug and surfaces as one.

    SteerError
    └── UserError
        ├── NotFound          no such plan, task, item, report, person …
        ├── PermissionDenied  the actor may not do this
        ├── Conflict          someone else changed the record since it was read
        ├── InputFileError    a file given to Steer cannot be used (names file/row/field)
        └── SchemaError       the database is not at the schema this code expects

Modules keep their own names for the errors they raise (``PlanFileError``,
``DirectoryError``, ``PolicyError`` …) as subclasses of these.
"""


class SteerError(Exception):
    """Root of every error Steer raises on purpose."""


class UserError(SteerError):
    """A mistake a person made: printed as one message, never a traceback."""


class NotFound(UserError, LookupError):
    """The thing named does not exist (or the person may not see it)."""


class PermissionDenied(UserError):
    pass


class Conflict(UserError):
    """Someone else changed the record since it was read (optimistic version check)."""


class InputFileError(UserError):
    """A file given to Steer (plan, directory, policy, indicators, backup …) cannot be used.
    The message names the file and, when known, the row/column/field."""


class SchemaError(UserError):
    """The database is not at the schema this code expects (message for a person)."""
