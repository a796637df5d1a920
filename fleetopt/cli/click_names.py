"""click's names the CLI reads: from typer's vendored copy, or click itself with an older typer."""

from __future__ import annotations

try:  # typer vendors click from 0.2x on; older versions depend on click itself
    from typer._click import ClickException
    from typer._click.core import ParameterSource
except ImportError:  # pragma: no cover
    from click import ClickException
    from click.core import ParameterSource

__all__ = ["ClickException", "ParameterSource"]
