"""Good takes to the personal model: adapt, then keep the clips, the model and its status."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import numpy as np

from voicecoach.enrollment.folder import Enrollment, PhraseResult, VoiceFolder
from voicecoach.speech.commands import personal


def adapt_and_keep(
    folder: VoiceFolder, takes: Mapping[str, Sequence[np.ndarray]], seed: int = 0
) -> Enrollment:
    """Fit the personal model to ``takes`` and make it, its clips and status the active ones.

    Until the model is written, the previous enrollment stays whole; ``ValueError`` from
    ``personal.adapt`` (an unknown phrase, no takes) passes through.
    """
    new_model = folder.new_model_path()
    try:
        commands = {p: clips for p, clips in takes.items() if p != personal.ORDINARY}
        other = takes.get(personal.ORDINARY, ())
        adaptation = personal.adapt(commands, new_model, other=other, seed=seed)
        folder.save_takes(takes)
        folder.install_model(adaptation.path_written or new_model)
    finally:
        new_model.unlink(missing_ok=True)
    results = {}
    for phrase, clips in takes.items():
        recall = adaptation.recall.get(phrase)
        heard, trials = (recall.heard, recall.trials) if recall else (0, 0)
        results[phrase] = PhraseResult(takes=len(clips), heard=heard, trials=trials)
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    enrollment = Enrollment(results, when, adaptation.seconds)
    folder.save_status(enrollment)
    return enrollment


def recall_sentences(enrollment: Enrollment) -> list[str]:
    """Phrase by phrase, how reliably the personal model now hears the user's own takes."""
    return [
        f"It now hears '{phrase}' in {r.heard} of {r.trials} of your takes."
        for phrase, r in enrollment.phrases.items()
        if r.trials
    ]
