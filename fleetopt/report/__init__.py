"""Self-contained HTML reports of run folders (`fleetopt report`) and of plan comparisons
(`fleetopt compare ... --out comparison.html`)."""

from fleetopt.report.comparison import comparison_html
from fleetopt.report.page import build_report, write_report
from fleetopt.report.reading import ReportError, checked_metrics_table

__all__ = ["ReportError", "build_report", "checked_metrics_table", "comparison_html", "write_report"]
