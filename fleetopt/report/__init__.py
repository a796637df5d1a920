"""Self-contained HTML reports of run folders (`fleetopt report`)."""

from fleetopt.report.page import ReportError, build_report, write_report

__all__ = ["ReportError", "build_report", "write_report"]
