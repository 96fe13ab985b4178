"""Where training reads from and writes to."""

from __future__ import annotations

import os
from pathlib import Path

TRAINING = Path(__file__).resolve().parent
REPO = TRAINING.parent
#: The shared recordings and guidance articles, beside the repository (never copied into it).
SHARED = Path(os.environ.get("VOICECOACH_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
SEEDS = SHARED / "seeds"
#: Renders and features are cached here: a rerun with the same seed computes nothing twice.
CACHE = Path(
    os.environ.get("VOICECOACH_TRAINING_CACHE", Path.home() / ".cache" / "voicecoach-training")
)
MODEL_DIR = REPO / "voicecoach" / "speech" / "commands"
