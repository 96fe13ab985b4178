"""What is enrolled, in words: for ``enroll --status``, ``doctor`` and the service's status."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.enrollment.folder import VoiceFolder
from voicecoach.speech.commands.personal import ORDINARY

NO_VOICE = "No personal voice: the general model is used."


@dataclass(frozen=True)
class VoiceState:
    """Whether a personal voice is listened with, and one line saying so (or why not)."""

    active: bool
    enrolled: bool  # a personal model or clips exist, whether used or not
    line: str


def voice_state(folder: VoiceFolder, adapt_again: str) -> VoiceState:
    """The state of ``folder``; ``adapt_again`` is the command that re-adapts to its clips."""
    problem = folder.model_problem()
    if problem is None:
        status = folder.status()
        when = f", enrolled {status.when}" if status else ""
        return VoiceState(True, True, f"Personal voice active ({folder.model}{when}).")
    has_clips = bool(folder.enrolled_clips())
    if folder.model.is_file():
        fix = f" Adapt it again with: {adapt_again}" if has_clips else " Enroll again."
        return VoiceState(False, True, f"Personal voice not used: {problem}.{fix}")
    if has_clips:
        return VoiceState(
            False, True, f"{NO_VOICE[:-1]}; your takes are kept. Adapt to them with: {adapt_again}"
        )
    return VoiceState(False, False, NO_VOICE)


def status_lines(folder: VoiceFolder, adapt_again: str) -> list[str]:
    """``enroll --status``: the state, each phrase's takes and measured recall, the files."""
    state = voice_state(folder, adapt_again)
    lines = [state.line]
    if not state.enrolled:
        return lines
    status = folder.status()
    clips = folder.enrolled_clips()
    if status is not None:
        lines.append(f"Adapted {status.when} in {status.seconds:.1f} s:")
        width = max(len(p) for p in status.phrases) if status.phrases else 0
        for phrase, r in status.phrases.items():
            if phrase == ORDINARY:
                recall = "learnt as no command"
            elif r.trials:
                recall = f"heard in {r.heard} of {r.trials} held-out takes"
            else:
                recall = "not measured"
            lines.append(f"  {phrase:<{width}}  {r.takes} take{'s' * (r.takes != 1)}, {recall}")
    elif clips:
        for phrase, files in clips.items():
            lines.append(f"  {phrase}: {len(files)} take{'s' * (len(files) != 1)}")
    lines.append(f"Files: {folder.path} (takes in {folder.clips.name}/, model {folder.model.name})")
    return lines
