"""Self-contained HTML reports of run folders (`fleetopt report`) and of plan comparisons
(`fleetopt compare ... --out comparison.html`)."""

from fleetopt.report.comparison import comparison_html
from fleetopt.report.page import (
    ReportError,
    build_report,
    checked_metrics_table,
    write_report,
)

__all__ = ["ReportError", "build_report", "checked_metrics_table", "comparison_html", "write_report"]
