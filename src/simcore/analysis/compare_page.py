"""compare.html: a self-contained page of a comparison (tables now; charts to come)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from simcore.analysis.pairing import PairedRuns


def compare_page(result: dict[str, Any], pairs: PairedRuns, names: Sequence[str]) -> str:
    """The page of ``result`` (what compare.json holds) for the paired runs ``pairs``."""
    rows = "".join(
        f"<tr><td>{escape(e['endpoint'])}</td><td>{e['verdict']}</td></tr>" for e in result["endpoints"]
    )
    return f"<!DOCTYPE html><html><body><table>{rows}</table></body></html>"
