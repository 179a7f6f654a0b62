"""qb.error: the one exception the module raises, and Qube!'s qb.error() call.

Qube!'s module has a function ``qb.error()`` that returns the reason of the last
failure; scripts written for this farm catch ``qb.error`` as an exception. One
class serves both: called with no argument it returns the last reason (a str),
called with a message it builds the exception.
"""

_last = {"reason": ""}


class _ErrorType(type):
    def __call__(cls, *args, **kwargs):
        if not args and not kwargs:
            return _last["reason"]
        return super().__call__(*args, **kwargs)


class error(Exception, metaclass=_ErrorType):
    """A request the supervisor refused, or one that could not be made.

    ``status`` is the HTTP status when the supervisor answered (400 bad input,
    401 no or bad token, 403 not allowed, 404 not found, 409 wrong state), else 0.
    """

    def __init__(self, message, status=0):
        super().__init__(message)
        self.status = status
        remember(message)


def remember(reason):
    """Keeps the reason qb.error() returns (also for partial failures that do not raise)."""
    _last["reason"] = reason
