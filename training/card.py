"""Keeps the generated parts of MODEL_CARD.md (training data, benchmark) in step with reality."""

from __future__ import annotations

import re
from pathlib import Path

CARD = Path(__file__).resolve().parents[1] / "voicecoach" / "speech" / "commands" / "MODEL_CARD.md"


def replace_section(name: str, body: str, path: Path = CARD) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text()
    block = f"{start}\n{body.strip()}\n{end}"
    if start not in text:
        raise ValueError(f"{path} has no section {name}")
    path.write_text(
        re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    )
