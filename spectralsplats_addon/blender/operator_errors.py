"""How an operator reports what went wrong.

An error the project raises on purpose (``SpectralSplatsError``) carries its own advice: the
operator relays it with ``self.report`` and cancels. Anything else is a programming error: the
user sees a short bug report and the traceback goes to the system console.
"""

from __future__ import annotations

import functools
import sys
import traceback

from ..engine.errors import SpectralSplatsError

BUG_REPORT = ("{label} failed with an unexpected {kind}: this is a bug, please report it; "
              "details in the system console")


def report_bug(operator, error: BaseException) -> set[str]:
    """Prints the traceback of ``error`` to the console, reports a bug and cancels."""
    traceback.print_exception(error, file=sys.stderr)
    operator.report({"ERROR"}, BUG_REPORT.format(label=operator.bl_label,
                                                 kind=type(error).__name__))
    return {"CANCELLED"}


def reports_errors(execute):
    """Wraps an operator's ``execute(self, context)``: a SpectralSplatsError is reported as it
    is, any other Exception as a bug (report_bug); both cancel."""

    @functools.wraps(execute)
    def guarded(self, context):
        try:
            return execute(self, context)
        except SpectralSplatsError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        except Exception as error:  # a programming error: shown as a bug
            return report_bug(self, error)

    return guarded
