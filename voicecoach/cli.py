"""The command line: the only place that parses argv.

Exit codes: 0 success, 1 a data error (bad routine, unknown name), 2 a usage error (click's own).
"""

from __future__ import annotations

import difflib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from voicecoach import __version__, paths
from voicecoach.clock import MonotonicClock
from voicecoach.coach import run_session
from voicecoach.engine.harness import estimate_duration
from voicecoach.inbox import Inbox
from voicecoach.routines.loader import Library, load_library, validate_paths
from voicecoach.routines.model import Exercise, Routine
from voicecoach.store import Store, StoreError
from voicecoach.textmode import TextSpeaker, read_commands

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Settings shared by every command, built once from options and the environment."""

    routines_dir: Path  # the user's routine files
    data_dir: Path  # history, avoid list


def _fail(message: str, hint: str | None = None) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(hint, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option(
    "--routines-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of your own routine files [default: ~/.config/voicecoach/routines].",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VOICECOACH_DATA_DIR",
    default=None,
    help="Where history and the avoid list are kept [env: VOICECOACH_DATA_DIR; "
    "default: ~/.local/share/voicecoach].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, routines_dir: Path | None, data_dir: Path | None, verbose: int) -> None:
    """voicecoach: a voice-guided back-care exercise coach that works offline.

    It reads a routine aloud, counts your holds, and listens for "stop" and "that hurts".
    It is not medical advice: if an exercise hurts, it is dropped; if pain persists, seek
    professional advice.
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings(
        routines_dir=routines_dir or paths.user_routines_dir(),
        data_dir=data_dir or paths.data_dir(),
    )


def _library(settings: Settings) -> Library:
    library = load_library(settings.routines_dir)
    for path in library.skipped:
        errors = [e for e in library.errors if e.path == path]
        click.echo(f"warning: skipped {path}: {errors[0].message}", err=True)
        click.echo(f"  ({len(errors)} error(s); see: voicecoach validate {path})", err=True)
    return library


def find_routine(library: Library, name: str) -> Routine:
    """The routine called ``name``, or exit 1 with the close matches."""
    if name in library.routines:
        return library.routines[name]
    close = difflib.get_close_matches(name, list(library.routines), n=3, cutoff=0.5)
    close += [r for r in library.routines if name.lower() in r and r not in close]
    hint = f"Did you mean: {', '.join(close[:3])}?\n" if close else ""
    _fail(f"no routine called '{name}'.", hint + "See the routines with: voicecoach list")


def _dose(ex: Exercise) -> str:
    def hold_text(seconds: int | None, breaths: int | None) -> str:
        if breaths is not None:
            return f"{breaths} breath{'s' if breaths != 1 else ''}"
        assert seconds is not None
        return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"

    holds = " + ".join(hold_text(h.seconds, h.breaths) for h in ex.holds_per_rep)
    sides = {"none": "", "left-then-right": " each side", "alternating": " each side, alternating"}
    return f"{ex.reps} x {holds}{sides[ex.sides.value]}, rest {ex.rest_s} s"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _exercise_json(ex: Exercise) -> dict[str, Any]:
    return {
        "id": ex.id,
        "name": ex.name,
        "hold_s": ex.hold.duration_s,
        "breaths": ex.hold.breaths,
        "reps": ex.reps,
        "sides": ex.sides.value,
        "rest_s": ex.rest_s,
        "count": ex.count.value,
        "alternate_hold_s": ex.alternate.duration_s if ex.alternate else None,
        "source": ex.source,
    }


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.pass_obj
def list_routines(settings: Settings, as_json: bool) -> None:
    """List the routines: id, title, tags and estimated duration."""
    routines = sorted(_library(settings).routines.values(), key=lambda r: r.id)
    if as_json:
        rows = [
            {
                "id": r.id,
                "title": r.title,
                "summary": r.summary,
                "tags": list(r.tags),
                "suits": r.suits.value if r.suits else None,
                "duration_s": round(estimate_duration(r)),
                "exercises": len(r.exercises),
                "source": r.source,
            }
            for r in routines
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r.id) for r in routines), default=2)
    for r in routines:
        tags = f"  [{', '.join(r.tags)}]" if r.tags else ""
        click.echo(f"{r.id:<{width}}  {_minutes(round(estimate_duration(r))):>6}  {r.title}{tags}")


@cli.command()
@click.argument("routine")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@click.pass_obj
def show(settings: Settings, routine: str, as_json: bool) -> None:
    """Show a routine: each exercise with its dose and cues, and the total duration."""
    r = find_routine(_library(settings), routine)
    total = round(estimate_duration(r))
    if as_json:
        obj = {
            "id": r.id,
            "title": r.title,
            "summary": r.summary,
            "tags": list(r.tags),
            "source": r.source,
            "duration_s": total,
            "exercises": [_exercise_json(e) for e in r.exercises],
        }
        click.echo(json.dumps(obj, indent=2))
        return
    click.echo(f"{r.title} ({r.id}) - about {_minutes(total)} min")
    click.echo(r.summary)
    click.echo(f"Source: {r.source}")
    for i, ex in enumerate(r.exercises, 1):
        click.echo(f"\n{i}. {ex.name} - {_dose(ex)}")
        click.echo(f"   Position: {ex.position}")
        for caution in ex.cautions:
            click.echo(f"   Caution: {caution}")
        for step in ex.setup:
            click.echo(f"   - {step}")
        click.echo(f"   Action: {ex.hold.action}  Release: {ex.hold.release}")
        if ex.alternate:
            click.echo(f"   Then: {ex.alternate.action}  Release: {ex.alternate.release}")


@cli.command()
@click.argument("paths_", metavar="[PATH]...", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def validate(settings: Settings, paths_: tuple[Path, ...]) -> None:
    """Check routine files and report every error as path:line:col: key: message.

    With no PATH: the built-in library and your routines folder. A PATH may be a file or a folder;
    it is checked against the built-in exercises. Exits 1 if anything is wrong.
    """
    targets = list(paths_)
    if not targets and settings.routines_dir.is_dir():
        targets = [settings.routines_dir]
    for target in targets:
        if not target.exists():
            _fail(f"{target}: no such file or folder")
    errors = validate_paths(targets)
    for error in errors:
        click.echo(str(error))
    if errors:
        files = len({e.path for e in errors})
        click.echo(f"{len(errors)} error(s) in {files} file(s)", err=True)
        sys.exit(1)
    click.echo("ok", err=True)


def _open_store(settings: Settings, recover: bool = False) -> Store:
    try:
        return Store.open(settings.data_dir, recover=recover)
    except (StoreError, OSError) as exc:
        _fail(f"cannot open the data folder {settings.data_dir}: {exc}")


def _audio_output_problem() -> str | None:
    """Why spoken guidance cannot run here, or None."""
    try:
        import sounddevice  # noqa: PLC0415 - PortAudio is only needed for voice mode
    except OSError as exc:  # the PortAudio library itself is missing
        return f"No audio output: PortAudio is not available ({exc})."
    try:
        sounddevice.query_devices(kind="output")
    except Exception:  # PortAudioError or ValueError: no default output device
        return "No audio output device found."
    return "Spoken guidance is not available in this version."


@cli.command()
@click.argument("routine")
@click.option(
    "--text", is_flag=True, help="Guide in text: print each line, read commands typed on stdin."
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001, max=1000, min_open=False),
    default=1.0,
    show_default=True,
    help="Scale the session clock: 0.02 runs it 50 times faster, for demos and tests.",
)
@click.pass_obj
def run(settings: Settings, routine: str, text: bool, time_scale: float) -> None:
    """Guide ROUTINE: spoken when there is a sound card, otherwise in text.

    In text mode each utterance is printed as "[mm:ss] text" and the commands are read from
    stdin, one per line: next, pause, resume, repeat, help, finish, stop, and "that hurts".
    Exercises that hurt are dropped and left out of later sessions (see: voicecoach avoid list).
    """
    r = find_routine(_library(settings), routine)
    if not text:
        problem = _audio_output_problem()
        if problem:
            click.echo(f"{problem} Guiding in text mode instead.", err=True)
    clock = MonotonicClock(time_scale)
    inbox = Inbox()
    with _open_store(settings, recover=True) as store:
        read_commands(sys.stdin, inbox)
        reason = run_session(
            r, store=store, speaker=TextSpeaker(clock, sys.stdout), clock=clock, inbox=inbox
        )
    if reason == "interrupted":
        sys.exit(130)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, oldest session first.")
@click.pass_obj
def history(settings: Settings, as_json: bool) -> None:
    """Show past sessions: when, which routine, how it ended, what was done, pain reports."""
    with _open_store(settings) as store:
        sessions = store.history()
    if as_json:
        click.echo(json.dumps(sessions, indent=2))
        return
    if not sessions:
        click.echo("No sessions yet.")
    for s in sessions:
        tally: dict[str, int] = {}
        for e in s["exercises"]:
            tally[e["outcome"]] = tally.get(e["outcome"], 0) + 1
        counts = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in tally.items())
        click.echo(f"{s['started']}  {s['routine']}  {s['end_reason'] or 'running'}  {counts}")
        for p in s["pain"]:
            where = ", ".join(
                f"{k} {p[k]}" for k in ("side", "rep", "second") if p.get(k) is not None
            )
            click.echo(f"    pain: {p['exercise']}" + (f" ({where})" if where else ""))


@cli.group()
def avoid() -> None:
    """The avoid list: exercises left out of every session (added when one hurts)."""


@avoid.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def avoid_list(settings: Settings, as_json: bool) -> None:
    """Show the exercises on the avoid list, since when and why."""
    with _open_store(settings) as store:
        entries = store.avoided()
    if as_json:
        rows = [{"exercise": e.exercise, "since": e.since, "reason": e.reason} for e in entries]
        click.echo(json.dumps(rows, indent=2))
        return
    if not entries:
        click.echo("The avoid list is empty.")
    for e in entries:
        click.echo(f"{e.exercise}  since {e.since}  ({e.reason})")


def _known_exercise(settings: Settings, exercise: str) -> None:
    known = _library(settings).exercises
    if exercise not in known:
        close = difflib.get_close_matches(exercise, list(known), n=3)
        hint = f"Did you mean: {', '.join(close)}?" if close else None
        _fail(f"no exercise called '{exercise}'.", hint)


@avoid.command("add")
@click.argument("exercise")
@click.pass_obj
def avoid_add(settings: Settings, exercise: str) -> None:
    """Leave EXERCISE out of every session from now on."""
    _known_exercise(settings, exercise)
    with _open_store(settings) as store:
        added = store.avoid_add(exercise)
    click.echo(f"{exercise} {'added to' if added else 'was already on'} the avoid list.")


@avoid.command("remove")
@click.argument("exercise")
@click.pass_obj
def avoid_remove(settings: Settings, exercise: str) -> None:
    """Guide EXERCISE again in later sessions."""
    with _open_store(settings) as store:
        removed = store.avoid_remove(exercise)
    if not removed:
        _fail(f"{exercise} is not on the avoid list.", "See it with: voicecoach avoid list")
    click.echo(f"{exercise} removed from the avoid list; it will be guided again.")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="voicecoach")
