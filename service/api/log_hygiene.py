"""Keep request content out of the logs, including what aiohttp logs on its own.

The service never logs keys, comment text or author data itself. aiohttp, however, logs a
malformed HTTP request ("Error handling request") with a traceback whose message quotes the
offending bytes: a header line, possibly an Authorization header. This filter rewrites such
records into one line naming only the error class.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

_SERVER_LOGGER = "aiohttp.server"


class MalformedRequestFilter(logging.Filter):
    """Replace a malformed-request traceback (which quotes the request) by its error class."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = "malformed HTTP request refused with %d: %s"
            record.args = (exc.code, exc.__class__.__name__)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install_log_filters() -> None:
    """Attach the filter once (the logger is process-wide; create_app may run many times in tests)."""
    logger = logging.getLogger(_SERVER_LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
