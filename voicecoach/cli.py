"""The command line: the only place that parses argv.

Exit codes: 0 success, 1 a data error (bad routine, unknown name), 2 a usage error (click's own).
"""

from __future__ import annotations

import datetime
import difflib
import json
import logging
import os
import pwd
import shlex
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from voicecoach import __version__, paths
from voicecoach.speech import ASR_CHOICES

# The audio and speech stacks (numpy, PortAudio, the recognizers) load in the commands that use
# them, so that --help starts at once.
if TYPE_CHECKING:
    import numpy as np

    from voicecoach import config
    from voicecoach.config import VoiceSettings
    from voicecoach.enrollment.folder import VoiceFolder
    from voicecoach.routines.loader import Library
    from voicecoach.routines.model import Exercise, Routine
    from voicecoach.speech.recognizer import Recognizer
    from voicecoach.speech.tts import EspeakSynth
    from voicecoach.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Settings shared by every command, built once from options, environment and config file."""

    routines_dir: Path  # the user's routine files
    data_dir: Path  # history, avoid list
    config: config.FileConfig  # voice and devices from config.toml (options override them)


class _PlainFormatter(logging.Formatter):
    """Log lines as the CLI's own, "warning: ...", without module names (-v shows those)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return f"{record.levelname.lower()}: {record.getMessage()}"


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
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Config file [default: ~/.config/voicecoach/config.toml].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(
    ctx: click.Context,
    routines_dir: Path | None,
    data_dir: Path | None,
    config_path: Path | None,
    verbose: int,
) -> None:
    """voicecoach: a voice-guided back-care exercise coach that works offline.

    It reads a routine aloud, counts your holds, and listens for "stop" and "that hurts".
    It is not medical advice: if an exercise hurts, it is dropped; if pain persists, seek
    professional advice.
    """
    from voicecoach import config

    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s") if verbose else _PlainFormatter()
    )
    logging.basicConfig(level=level, handlers=[handler])
    try:
        file_config = config.load(config_path or paths.config_dir() / "config.toml")
    except config.ConfigError as exc:
        _fail(str(exc))
    ctx.obj = Settings(
        routines_dir=routines_dir or paths.user_routines_dir(),
        data_dir=data_dir or paths.data_dir(),
        config=file_config,
    )


def _library(settings: Settings) -> Library:
    from voicecoach.routines.loader import load_library

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
    """List the routines: id, title, tags and estimated duration.

    A routine of yours with the id of a built-in one replaces it, and is marked so.
    """
    from voicecoach.session.harness import estimate_duration

    library = _library(settings)
    routines = sorted(library.routines.values(), key=lambda r: r.id)
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
                "overrides_builtin": r.id in library.overrides,
                "path": str(r.path) if r.path else None,
            }
            for r in routines
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r.id) for r in routines), default=2)
    for r in routines:
        tags = f"  [{', '.join(r.tags)}]" if r.tags else ""
        mine = f"  (yours, replaces the built-in: {r.path})" if r.id in library.overrides else ""
        duration = _minutes(round(estimate_duration(r)))
        click.echo(f"{r.id:<{width}}  {duration:>6}  {r.title}{tags}{mine}")


@cli.command()
@click.argument("routine")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@click.pass_obj
def show(settings: Settings, routine: str, as_json: bool) -> None:
    """Show a routine: each exercise with its dose and cues, and the total duration."""
    from voicecoach.session.harness import estimate_duration

    r = find_routine(_library(settings), routine)
    total = round(estimate_duration(r))
    if as_json:
        obj = {
            "id": r.id,
            "title": r.title,
            "summary": r.summary,
            "cautions": list(r.cautions),
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
    for caution in r.cautions:
        click.echo(f"Caution: {caution}")
    for i, ex in enumerate(r.exercises, 1):
        click.echo(f"\n{i}. {ex.name} ({ex.id}) - {_dose(ex)}")
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
    from voicecoach.routines.loader import validate_paths
    from voicecoach.routines.spoken import sound_check_unavailable

    targets = list(paths_)
    if not targets and settings.routines_dir.is_dir():
        targets = [settings.routines_dir]
    for target in targets:
        if not target.exists():
            _fail(f"{target}: no such file or folder")
    errors = validate_paths(targets)
    for error in errors:
        click.echo(str(error))
    skipped = sound_check_unavailable()
    if skipped:
        note = f"note: the sound check was skipped ({skipped}); spoken text was compared as text"
        click.echo(note, err=True)
    if errors:
        files = len({e.path for e in errors})
        click.echo(f"{len(errors)} error(s) in {files} file(s)", err=True)
        sys.exit(1)
    click.echo("ok", err=True)


def _open_store(settings: Settings, recover: bool = False) -> Store:
    from voicecoach.store import DamagedDatabaseError, Store, StoreError

    try:
        return Store.open(settings.data_dir, recover=recover)
    except DamagedDatabaseError as exc:
        if exc.backup is None:
            what = " and ".join(str(path) for path in exc.to_move)
            how = f"To start afresh, move {what} aside; the records there are then lost."
        else:
            how = f"Restore it with: {_restore_command(settings)}"
        _fail(f"{exc.path} {exc.problem}.", f"{exc.found}\n{how}")
    except (StoreError, OSError) as exc:
        _fail(f"cannot open the data folder {settings.data_dir}: {exc}")


def _restore_command(settings: Settings) -> str:
    """The restore command for this data folder, exactly, as the user who owns the folder."""
    return _command_for(settings, "restore")


def _command_for(settings: Settings, args: str) -> str:
    """``voicecoach ARGS`` on this data folder, exactly, as the user who owns the folder."""
    command = f"voicecoach {args}"
    if os.environ.get("VOICECOACH_DATA_DIR") or settings.data_dir != paths.data_dir():
        command = f"voicecoach --data-dir {shlex.quote(str(settings.data_dir))} {args}"
    try:
        owner = settings.data_dir.stat().st_uid
        if owner != os.geteuid():  # the service's /var/lib/voicecoach
            command = f"sudo -u {shlex.quote(pwd.getpwuid(owner).pw_name)} {command}"
    except (OSError, KeyError):
        pass
    return command


def _recording(path: Path) -> np.ndarray:
    """A WAV recording's samples, or exit 1 saying it is not one."""
    from voicecoach.audio.replay import load_input

    try:
        return load_input(path)
    except (OSError, ValueError, EOFError, wave.Error) as exc:
        _fail(f"{path}: not a 16-bit PCM WAV file ({exc or type(exc).__name__})")


def _check_writable(path: Path) -> None:
    """Exit 1 now, before any work, if ``path`` cannot be written (a missing folder, say).

    Nothing is created: a session that then fails leaves no empty file behind.
    """
    if not path.parent.is_dir():
        _fail(f"cannot write {path}: No such file or directory")
    if path.is_dir():
        _fail(f"cannot write {path}: Is a directory")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        _fail(f"cannot write {path}: Permission denied")


def _device(value: str | None, configured: int | str | None) -> int | str | None:
    """A device option (an index or a name fragment), else the config file's, else None."""
    if value is None or value == "":
        return configured
    return int(value) if value.isdigit() else value  # index 0 is a device like any other


def _audio_output_problem(device: int | str | None) -> str | None:
    """Why spoken guidance cannot play here, or None."""
    try:
        import sounddevice  # PortAudio is only needed for voice
    except OSError as exc:  # the PortAudio library itself is missing
        return f"No audio output: PortAudio is not available ({exc})."
    try:
        sounddevice.query_devices(device, kind="output")
    except Exception:  # PortAudioError or ValueError: no such (default) output device
        return (
            "No audio output device found." if device is None else f"No output device {device!r}."
        )
    return None


def voice_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--voice, --rate, --volume, --output-device: shared by run and say."""
    options = [
        click.option(
            "--voice", help="espeak-ng voice (see: voicecoach voices) [config: voice.name]."
        ),
        click.option("--rate", type=click.IntRange(80, 450), help="Words per minute [config]."),
        click.option("--volume", type=click.IntRange(0, 200), help="Volume, 0-200 [config]."),
        click.option(
            "--output-device", help="Speaker: index or name fragment (see: voicecoach devices)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def recognizer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--asr, --vosk-model, --command-model/--no-command-model: what listens."""
    options = [
        click.option(
            "--asr",
            type=click.Choice(ASR_CHOICES),
            default="auto",
            show_default=True,
            help="A general recognizer beside the command model: vosk when a model is found.",
        ),
        click.option(
            "--vosk-model",
            type=click.Path(file_okay=False, path_type=Path),
            help="A vosk model folder [env: VOICECOACH_VOSK_MODEL; see: voicecoach models].",
        ),
        click.option(
            "--command-model/--no-command-model",
            default=True,
            show_default=True,
            help="Listen with the trained command model (every command, always armed).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def listen_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The recognizer options and --input-device: shared by run, doctor and serve."""
    command = click.option("--input-device", help="Microphone: index or name fragment.")(command)
    return recognizer_options(command)


def _recognizers(
    asr: str, vosk_model: Path | None, command_model: bool, personal: Path | None
) -> list[Recognizer]:
    from voicecoach.speech.backends import choose
    from voicecoach.speech.recognizer import RecognizerUnavailable

    try:
        choice = choose(asr, vosk_model, command_model=command_model, personal=personal)
    except RecognizerUnavailable as exc:
        _fail(str(exc))
    return choice.recognizers


def _voice_folder(settings: Settings) -> VoiceFolder:
    from voicecoach.enrollment.folder import VoiceFolder

    return VoiceFolder(settings.data_dir)


def _adapt_again(settings: Settings) -> str:
    """The command that adapts the personal model to the takes kept in the data folder."""
    clips = _voice_folder(settings).clips
    return _command_for(settings, f"enroll --from-dir {shlex.quote(str(clips))}")


def _personal_model(settings: Settings) -> Path | None:
    """The personal model to listen with, or None; a warning says why one is not used."""
    folder = _voice_folder(settings)
    if not folder.model.is_file():
        return None
    problem = folder.model_problem()
    if problem is not None:
        log.warning(
            "personal voice not used: %s; adapt it again: %s", problem, _adapt_again(settings)
        )
        return None
    return folder.model


def _voice(
    settings: Settings, voice: str | None, rate: int | None, volume: int | None
) -> VoiceSettings:
    from voicecoach.config import VoiceSettings

    v = settings.config.voice
    return VoiceSettings(voice or v.voice, rate or v.rate, v.volume if volume is None else volume)


def _synth(settings: VoiceSettings) -> EspeakSynth:
    from voicecoach.speech.tts import EspeakSynth, SynthesisError

    try:
        return EspeakSynth(settings)
    except SynthesisError as exc:
        _fail(str(exc))


@cli.command()
@click.argument("routine", required=False)
@click.option(
    "--text", is_flag=True, help="Guide in text: print each line, read commands typed on stdin."
)
@click.option(
    "--bad-day",
    is_flag=True,
    help="Guide every exercise at the gentlest dose its bounds allow (your progress is kept).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001, max=1000),
    default=1.0,
    show_default=True,
    help="Scale the session clock in text mode: 0.02 runs it 50 times faster (demos, tests).",
)
@click.option(
    "--audio-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Render the spoken session into this WAV file instead of a speaker, as fast as the "
    "machine allows, without listening: a preview that asks nothing and is not recorded.",
)
@click.option(
    "--audio-in",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With --audio-out: use this WAV recording as the microphone (a replay, as fast as "
    "possible, sample-aligned to the output).",
)
@click.option(
    "--room-echo-db",
    type=float,
    default=None,
    help="With --audio-in/--audio-out: feed the coach's own output back into the microphone "
    "through a simulated room at this level (dB relative to the output), for tests.",
)
@listen_options
@voice_options
@click.pass_obj
def run(
    settings: Settings,
    routine: str | None,
    text: bool,
    bad_day: bool,
    time_scale: float,
    audio_out: Path | None,
    audio_in: Path | None,
    room_echo_db: float | None,
    asr: str,
    vosk_model: Path | None,
    command_model: bool,
    input_device: str | None,
    voice: str | None,
    rate: int | None,
    volume: int | None,
    output_device: str | None,
) -> None:
    """Guide ROUTINE: spoken when there is a sound card, otherwise in text.

    Without ROUTINE the coach first asks what eases your back pain (sitting, standing or lying
    down, or neither: the CORE Back Tool's question) and guides the matching routine.

    Commands are heard from the microphone or typed on stdin, one per line: next, pause,
    resume, repeat, help, finish, stop, and "that hurts". Exercises that hurt are dropped and
    left out of later sessions (see: voicecoach avoid list). The coach asks for a pain score
    (0 to 10) before and after, and "easy, fine or hard?" after each exercise, which sets its
    dose next time within the routine's bounds ([session] in the config file turns these off).
    In text mode each line the coach says is printed as "[mm:ss] text".
    """
    from voicecoach.audio import counters as audio_counters
    from voicecoach.audio.output import AudioDeviceError, LiveOutput
    from voicecoach.audio.playout import Playout
    from voicecoach.engine.plan import Questions
    from voicecoach.engine.session import UNCHOSEN
    from voicecoach.session.runner import Triage
    from voicecoach.store import MemoryStore

    library = _library(settings)
    r: Routine | Triage
    r = find_routine(library, routine) if routine else Triage(tuple(library.routines.values()))
    name = UNCHOSEN.id if isinstance(r, Triage) else r.id
    if not (text or audio_out or audio_in):
        # The service owns the devices: it guides, and answers once the session has started.
        request = {"cmd": "run", "routine": name if routine else None, "bad_day": bad_day}
        reply = _service_request(request, wait=True)
        if reply is not None:
            if reply.get("warning"):
                click.echo(f"warning: {reply['warning']}", err=True)
            what = name if routine else "a routine chosen by your answer"
            click.echo(f"The voicecoach service is guiding {what}.", err=True)
            return
    if audio_in and not audio_out:  # it was silently ignored: say what it needs
        raise click.UsageError("--audio-in works with --audio-out (a replay into a file).")
    if audio_out and not audio_in and not routine:
        raise click.UsageError(
            "name a ROUTINE to render: a rendering hears no answer to which routine suits you."
        )
    if audio_in and audio_out and audio_in.resolve() == audio_out.resolve():
        raise click.UsageError("--audio-in and --audio-out must be different files.")
    recording = _recording(audio_in) if audio_in is not None else None
    if audio_out is not None:
        _check_writable(audio_out)
    device = _device(output_device, settings.config.audio.output_device)
    mode = "file" if audio_out else "text" if text else "live"
    playout = Playout()
    live: LiveOutput | None = None
    if mode == "live":
        problem = _audio_output_problem(device)
        if problem is None:
            try:
                live = LiveOutput(playout, device)
                if not live.wait_flowing():
                    live.close()
                    problem = "The audio output opened but plays nothing."
            except AudioDeviceError as exc:
                problem = f"{exc}."
        if problem is not None:
            click.echo(f"{problem} Guiding in text mode instead.", err=True)
            mode = "text"
        elif time_scale != 1.0:
            assert live is not None
            live.close()
            raise click.UsageError("--time-scale works only in text mode (--text).")
    from voicecoach.session.build import Live, Mode, Render, Replay, Text, build  # noqa: PLC0415

    try:
        how: Mode
        if mode == "text":
            how = Text(sys.stdout, sys.stdin, time_scale)
        elif audio_out is not None:
            synth = _synth(_voice(settings, voice, rate, volume))
            how = Render(synth, audio_out)
            if recording is not None:
                recognizers = _recognizers(
                    asr, vosk_model, command_model, _personal_model(settings)
                )
                how = Replay(synth, audio_out, recording, recognizers, room_echo_db)
        else:
            how = Live(
                _synth(_voice(settings, voice, rate, volume)),
                playout,
                _recognizers(asr, vosk_model, command_model, _personal_model(settings)),
                _device(input_device, settings.config.audio.input_device),
                typed=sys.stdin,  # the keyboard works beside the voice
            )
        with build(how) as session:
            if session.warning is not None:
                click.echo(f"warning: {session.warning}", err=True)
            try:
                # A rendering nobody listens to is a preview, not exercise: it follows the
                # avoid list and the doses, asks nothing and records nothing.
                preview = audio_out is not None and recording is None
                asks = settings.config.session
                questions = Questions(asks.checkin and not preview, asks.effort and not preview)
                with _open_store(settings, recover=True) as store:
                    guided = MemoryStore.preview_of(store) if preview else store
                    reason = session.run(r, guided, questions=questions, bad_day=bad_day)
            finally:
                if live is not None:  # what the devices dropped or flagged, in the log
                    audio_counters.log_session_end(
                        audio_counters.combined(session.counters(), live.counters())
                    )
    finally:
        if live is not None:
            live.close()
    if mode == "file":
        click.echo(f"Rendered {name} into {audio_out} ({reason}).", err=True)
    if reason == "interrupted" and mode != "file":
        sys.exit(130)


@cli.command()
@click.argument("text")
@click.option(
    "--audio-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the speech to this WAV file instead of playing it.",
)
@voice_options
@click.pass_obj
def say(
    settings: Settings,
    text: str,
    audio_out: Path | None,
    voice: str | None,
    rate: int | None,
    volume: int | None,
    output_device: str | None,
) -> None:
    """Speak TEXT, to check the voice and the volume."""
    from voicecoach.audio import SAMPLE_RATE
    from voicecoach.audio.output import AudioDeviceError, FileOutput, LiveOutput
    from voicecoach.audio.playout import Playout

    if audio_out is not None:
        _check_writable(audio_out)
    pcm = _synth(_voice(settings, voice, rate, volume)).render(text)
    playout = Playout()
    playout.play(pcm, utterance=1)
    if audio_out:
        output = FileOutput(playout, audio_out)
        output.advance_to(len(pcm))
        output.close()
        click.echo(f"Wrote {len(pcm) / SAMPLE_RATE:.2f} s to {audio_out}.", err=True)
        return
    device = _device(output_device, settings.config.audio.output_device)
    problem = _audio_output_problem(device)
    if problem:
        _fail(problem, "Write it to a file instead: voicecoach say TEXT --audio-out say.wav")
    try:
        live = LiveOutput(playout, device)
    except AudioDeviceError as exc:
        _fail(str(exc))
    live.wait_flowing()
    while playout.busy or not playout.finished:
        time.sleep(0.02)
    time.sleep(live.latency_s())  # let the device play out its buffer
    live.close()


@cli.command()
def devices() -> None:
    """List audio inputs and outputs; > marks the default input, < the default output."""
    try:
        import sounddevice as sd
    except OSError as exc:
        _fail(f"PortAudio is not available: {exc}")
    found = sd.query_devices()
    if not found:
        click.echo("No audio devices found (PortAudio sees no sound card).")
        return
    click.echo(str(found))


@cli.command()
@listen_options
@click.pass_obj
def doctor(
    settings: Settings,
    asr: str,
    vosk_model: Path | None,
    command_model: bool,
    input_device: str | None,
) -> None:
    """Check everything a spoken session needs: voice, speaker, microphone, recognizers."""
    import numpy as np

    from voicecoach.audio import SAMPLE_RATE
    from voicecoach.speech.backends import choose
    from voicecoach.speech.recognizer import RecognizerUnavailable
    from voicecoach.speech.tts import EspeakSynth, SynthesisError

    problems = 0

    def report(ok: bool, what: str) -> None:
        nonlocal problems
        problems += not ok
        first, *more = what.splitlines()  # "Looked in:" and the places under it: all of them
        click.echo(f"{'ok ' if ok else 'NO '} {first}")
        for line in more:
            click.echo(f"    {line}")

    try:
        pcm = EspeakSynth(_voice(settings, None, None, None)).render("Lie on your back.")
        report(
            len(pcm) > 0,
            f"voice: espeak-ng {settings.config.voice.voice}, {len(pcm) / SAMPLE_RATE:.1f} s",
        )
    except SynthesisError as exc:
        report(False, f"voice: {exc}")
    output_problem = _audio_output_problem(settings.config.audio.output_device)
    report(output_problem is None, f"speaker: {output_problem or 'default output device found'}")
    try:
        import sounddevice as sd

        device_in = _device(input_device, settings.config.audio.input_device)
        level = sd.rec(
            SAMPLE_RATE // 2,
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="int16",
            device=device_in,
            blocking=True,
        )
        rms = float(np.sqrt(np.mean(level.astype(np.float64) ** 2))) + 1e-9
        report(True, f"microphone: level {20 * np.log10(rms / 32768):.0f} dBFS over 0.5 s")
    except Exception as exc:  # PortAudio missing, no input device, device busy
        report(False, f"microphone: {exc}")
    from voicecoach.enrollment.summary import voice_state

    state = voice_state(_voice_folder(settings), _adapt_again(settings))
    report(state.active or not state.enrolled, f"personal voice: {state.line}")
    try:
        personal = _voice_folder(settings).model if state.active else None
        choice = choose(asr, vosk_model, command_model=command_model, personal=personal)
        for reason in choice.reasons:
            report("unavailable" not in reason, f"recognition: {reason}")
    except RecognizerUnavailable as exc:
        report(False, f"recognition: {exc}")
    sys.exit(1 if problems else 0)


@cli.command("listen")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--personal/--no-personal",
    default=False,
    show_default=True,
    help="Listen with your personal voice (see: voicecoach enroll) instead of the general model.",
)
@recognizer_options
@click.pass_obj
def listen_command(
    settings: Settings,
    files: tuple[Path, ...],
    as_json: bool,
    personal: bool,
    asr: str,
    vosk_model: Path | None,
    command_model: bool,
) -> None:
    """What the coach would hear in recordings: each command, when, and how sure.

    FILES are WAV recordings (16-bit PCM, any rate, mono or stereo). They go through the same
    path as a session's microphone while the coach is silent. Exits 1 if a file could not be
    read (the others are still heard).
    """
    personal_model = None
    if personal:
        folder = _voice_folder(settings)
        problem = folder.model_problem()
        if problem is not None:
            _fail(f"--personal: {problem}.", "Enroll first: voicecoach enroll")
        personal_model = folder.model
    from voicecoach.audio import SAMPLE_RATE
    from voicecoach.audio.replay import load_input
    from voicecoach.session.listener import hear

    results: list[dict[str, Any]] = []
    for path in files:
        entry: dict[str, Any] = {"file": str(path), "heard": [], "error": None}
        try:
            pcm = load_input(path)
        except (OSError, ValueError, EOFError, wave.Error) as exc:
            entry["error"] = f"not a 16-bit PCM WAV file ({exc or type(exc).__name__})"
            results.append(entry)
            continue
        entry["seconds"] = round(len(pcm) / SAMPLE_RATE, 2)
        # Fresh recognizers for every file: each recording starts from silence.
        for d in hear(_recognizers(asr, vosk_model, command_model, personal_model), pcm):
            entry["heard"].append(
                {
                    "intent": d.intent.value,
                    "phrase": d.phrase,
                    "end": round(d.end, 2),
                    "confidence": round(d.confidence, 3),
                    "recognizer": d.backend,
                }
            )
        results.append(entry)
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for entry in results:
            if entry["error"]:
                click.echo(f"{entry['file']}: {entry['error']}", err=True)
            elif not entry["heard"]:
                click.echo(f"{entry['file']}: nothing heard ({entry['seconds']} s)")
            for h in entry["heard"]:
                click.echo(
                    f"{entry['file']}: {h['end']:6.2f} s  {h['intent']:<7} "
                    f"({h['recognizer']}, {h['confidence']:.2f})"
                )
    sys.exit(1 if any(e["error"] for e in results) else 0)


ENROLL_NEEDS_DEVICES = (
    "spoken enrollment needs a speaker and a microphone ({problem}); without them, enroll "
    "from recordings: voicecoach enroll --from-dir DIR (DIR/that_hurts/1.wav, DIR/stop/1.wav, ...)"
)


@cli.command()
@click.option(
    "--from-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Enroll from recordings instead: DIR/<phrase>/*.wav, a folder per phrase with _ for "
    "spaces (that_hurts, stop, ...), and ordinary_speech/ for sentences that are no command.",
)
@click.option("--status", "show_status", is_flag=True, help="Show what is enrolled, and where.")
@click.option("--remove", is_flag=True, help="Delete your takes and your personal voice.")
@click.option("--input-device", help="Microphone: index or name fragment.")
@voice_options
@click.pass_obj
def enroll(
    settings: Settings,
    from_dir: Path | None,
    show_status: bool,
    remove: bool,
    input_device: str | None,
    voice: str | None,
    rate: int | None,
    volume: int | None,
    output_device: str | None,
) -> None:
    """Teach the coach your voice, so it hears your commands more reliably.

    The coach asks for each command five times; say it after the tone. Takes that are too
    quiet, noisy or cut off are asked for again. Then three ordinary sentences, so it learns
    what is not a command. The command model is then adapted to your voice on this device
    (a few minutes) and the coach says how well it now hears each command.
    Your takes and the personal model stay in the data folder (DATA_DIR/voice/) and never
    leave the device; --remove deletes them.
    """
    chosen = [
        name
        for name, on in (("--from-dir", from_dir), ("--status", show_status), ("--remove", remove))
        if on
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} cannot be used together.")
    if show_status:
        _enroll_status(settings)
    elif remove:
        _enroll_remove(settings)
    elif from_dir is not None:
        _enroll_from_dir(settings, from_dir)
    else:
        # The service owns the devices: it enrolls, between sessions, into its own data folder.
        reply = _service_request({"cmd": "enroll"}, wait=True)
        if reply is not None:
            click.echo(
                "The voicecoach service is enrolling your voice: follow what the coach says. "
                "(voicecoach status shows it; voicecoach stop ends it, changing nothing.)"
            )
            return
        _enroll_spoken(settings, input_device, _voice(settings, voice, rate, volume), output_device)


def _enroll_status(settings: Settings) -> None:
    from voicecoach.enrollment.summary import status_lines

    _appliance_note(settings, "enroll --status")
    for line in status_lines(_voice_folder(settings), _adapt_again(settings)):
        click.echo(line)


def _enroll_remove(settings: Settings) -> None:
    folder = _voice_folder(settings)
    takes = sum(len(clips) for clips in folder.enrolled_clips().values())
    try:
        deleted = folder.remove()
    except OSError as exc:
        _fail(f"cannot delete {folder.path}: {exc}")
    if not deleted:
        click.echo(f"No personal voice to remove in {folder.path}.")
        _appliance_note(settings, "enroll --remove")
        return
    what = {
        folder.clips: f"{takes} take{'s' * (takes != 1)} ({folder.clips})",
        folder.model: f"the personal model ({folder.model})",
        folder.status_file: f"the enrollment status ({folder.status_file})",
    }
    click.echo(f"Deleted {', '.join(what[p] for p in deleted)}.")
    click.echo("The general model is used from now on.")


def _enroll_from_dir(settings: Settings, directory: Path) -> None:
    from voicecoach.enrollment.adaptation import recall_sentences
    from voicecoach.enrollment.from_dir import EnrollError, Refused, enroll_from_dir
    from voicecoach.speech.recognizer import RecognizerUnavailable

    def refused(take: Refused) -> None:
        click.echo(f"{take.path}: refused: {take.reason}", err=True)

    _appliance_note(settings, "enroll --from-dir DIR")
    folder = _voice_folder(settings)
    try:
        enrollment = enroll_from_dir(directory, folder, refused)
    except (EnrollError, RecognizerUnavailable) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {folder.path}: {exc}")
    from voicecoach.speech.commands.personal import ORDINARY

    takes = sum(r.takes for r in enrollment.phrases.values())
    phrases = len([p for p in enrollment.phrases if p != ORDINARY])
    click.echo(
        f"Enrolled {phrases} phrase{'s' * (phrases != 1)} "
        f"from {takes} take{'s' * (takes != 1)} in {enrollment.seconds:.1f} s; kept in "
        f"{folder.path}."
    )
    for sentence in recall_sentences(enrollment):
        click.echo(sentence)


def _input_problem(device: int | str | None) -> str | None:
    """Why no microphone can be opened here, or None."""
    try:
        import sounddevice
    except OSError as exc:
        return f"PortAudio is not available ({exc})"
    try:
        sounddevice.query_devices(device, kind="input")
    except Exception:  # PortAudioError or ValueError: no such (default) input device
        return "no microphone found" if device is None else f"no input device {device!r}"
    return None


def _enroll_spoken(
    settings: Settings,
    input_device: str | None,
    voice: VoiceSettings,
    output_device: str | None,
) -> None:
    from voicecoach.audio.output import AudioDeviceError, LiveOutput
    from voicecoach.audio.playout import Playout
    from voicecoach.enrollment.live import LiveDevices
    from voicecoach.enrollment.spoken import enroll_spoken
    from voicecoach.speech.recognizer import RecognizerUnavailable

    device_out = _device(output_device, settings.config.audio.output_device)
    device_in = _device(input_device, settings.config.audio.input_device)
    problem = _audio_output_problem(device_out) or _input_problem(device_in)
    if problem is not None:
        _fail(ENROLL_NEEDS_DEVICES.format(problem=problem.rstrip(".")))
    synth = _synth(voice)
    playout = Playout()
    folder = _voice_folder(settings)
    try:
        output = LiveOutput(playout, device_out)
    except AudioDeviceError as exc:
        _fail(ENROLL_NEEDS_DEVICES.format(problem=exc))
    try:
        output.wait_flowing()
        devices = LiveDevices(synth, playout, output.latency_s(), device_in, on_say=click.echo)
        try:
            enrollment = enroll_spoken(devices, folder)
        finally:
            devices.close()
    except KeyboardInterrupt:
        click.echo("Enrollment stopped; nothing has changed.", err=True)
        sys.exit(130)
    except (AudioDeviceError, RecognizerUnavailable) as exc:
        _fail(f"enrollment stopped: {exc}; nothing has changed")
    except OSError as exc:
        _fail(f"cannot write {folder.path}: {exc}")
    finally:
        output.close()
    if enrollment is None:
        sys.exit(1)
    click.echo(f"Kept in {folder.path}.")


@cli.group()
def models() -> None:
    """Speech-recognition models: where they are looked for, and the vosk download."""


@models.command("list")
@click.option("--vosk-model", type=click.Path(file_okay=False, path_type=Path))
def models_list(vosk_model: Path | None) -> None:
    """Show where vosk models are looked for and which one would be used."""
    from voicecoach.speech.models import ModelNotFound, find_vosk_model, search_path

    for place in search_path(vosk_model):
        click.echo(f"{'found' if place.exists() else 'empty'}  {place}")
    try:
        click.echo(f"using: {find_vosk_model(vosk_model)}")
    except ModelNotFound:
        click.echo("using: none (the command model listens alone)")


@models.command("download")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=paths.models_dir(),
    show_default=True,
    help="Folder to put the model in.",
)
def models_download(dest: Path) -> None:
    """Download the small English vosk model (about 40 MB), check it, unpack it atomically."""
    from voicecoach.speech.models import ENGLISH_SMALL, download

    archive = ENGLISH_SMALL
    with click.progressbar(length=40_000_000, label=f"Downloading {archive.name}") as bar:
        seen = 0

        def progress(done: int, total: int | None) -> None:
            nonlocal seen
            if total:
                bar.length = total
            bar.update(done - seen)
            seen = done

        try:
            path = download(archive, dest, progress)
        except (OSError, ValueError) as exc:
            _fail(f"download failed: {exc}")
    click.echo(f"Installed {archive.name} in {path}; voicecoach uses it from now on.")


@cli.command()
@listen_options
@click.option("--output-device", help="Speaker: index or name fragment.")
@click.pass_obj
def serve(
    settings: Settings,
    asr: str,
    vosk_model: Path | None,
    command_model: bool,
    input_device: str | None,
    output_device: str | None,
) -> None:
    """Run as a service that owns the speaker and microphone.

    Between sessions it listens for "start <routine>" and "what can I do", and announces the
    reminders in the config file. Sessions are also asked for over the control socket
    (voicecoach run, status, stop); systemd is told of readiness and health (Type=notify,
    watchdog).
    """
    from voicecoach.engine.plan import Questions
    from voicecoach.service.control import ServiceError, default_socket_path
    from voicecoach.service.daemon import Service
    from voicecoach.service.idle import best_transcriber
    from voicecoach.service.recognizers import SessionRecognizers
    from voicecoach.speech.backends import choose

    library = _library(settings)  # routines validated before READY
    voice = _voice_folder(settings)
    # Loaded before READY, once: every session listens with these same recognizers, until the
    # personal voice changes (an enrollment): then they are built again, with it.
    built = _recognizers(asr, vosk_model, command_model, _personal_model(settings))

    def rebuild() -> list[Recognizer]:
        personal = _personal_model(settings)
        return choose(asr, vosk_model, command_model=command_model, personal=personal).recognizers

    store = _open_store(settings, recover=True)
    try:
        service = Service(
            library,
            store,
            _synth(_voice(settings, None, None, None)),
            SessionRecognizers(rebuild, built, voice.model_stamp),
            default_socket_path(),
            _device(output_device, settings.config.audio.output_device),
            _device(input_device, settings.config.audio.input_device),
            reminders=settings.config.reminders,
            transcriber=lambda: best_transcriber(library.routines),
            voice=voice,
            adapt_again=_adapt_again(settings),
            questions=Questions(settings.config.session.checkin, settings.config.session.effort),
        )
        sys.exit(service.run())
    except ServiceError as exc:  # another service runs, or something else is at the socket path
        _fail(str(exc))
    finally:
        store.close()


def _service_request(payload: dict[str, Any], wait: bool = False) -> dict[str, Any] | None:
    """The running service's reply; None when no service is running; exit 1 on an error reply.

    ``wait``: the service answers when the work is done (a session started or ended), which
    may take as long as loading the recognizers.
    """
    from voicecoach.service.control import (
        REPLY_TIMEOUT,
        ServiceError,
        ServiceUnavailable,
        default_socket_path,
        request,
    )

    try:
        reply = request(default_socket_path(), payload, timeout=REPLY_TIMEOUT + 5 if wait else 5)
    except ServiceUnavailable:
        return None
    except ServiceError as exc:
        _fail(str(exc))
    if reply.get("ok") is not True:
        error = str(reply.get("error") or "no reason given")
        hint = "See the service's state with: voicecoach status"
        if error.startswith("permission denied"):
            hint = "The service runs as another user: on the appliance, run: sudo voicecoach ..."
        _fail(f"the voicecoach service: {error}", hint)
    return reply


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON.")
def status(as_json: bool) -> None:
    """Show the running service: state, session, audio, microphone, recognizers, last errors.

    The audio counters say whether microphone blocks were dropped or the devices flagged any.

    Exits 3 when no service is running, 1 when it refused to answer (another user's service).
    """
    reply = _service_request({"cmd": "status"})
    if reply is None:
        click.echo("No voicecoach service is running.", err=True)
        sys.exit(3)
    if as_json:
        click.echo(json.dumps(reply, indent=2))
        return
    keys = (
        "state",
        "session",
        "audio",
        "microphone",
        "recognizers",
        "personal_voice",
        "last_errors",
        "uptime_s",
    )
    for key in keys:
        click.echo(f"{key}: {reply.get(key)}")
    from voicecoach.audio import counters as audio_counters

    counters = reply.get("audio_counters")
    if isinstance(counters, dict):
        click.echo(f"audio_counters: {audio_counters.summary(counters)}")


@cli.command()
def stop() -> None:
    """Stop the session the service is running (recorded as interrupted).

    Returns once the session has ended. Exits 3 when no service is running, 1 when the
    service refused.
    """
    reply = _service_request({"cmd": "stop"}, wait=True)  # answered once it has ended
    if reply is None:
        click.echo("No voicecoach service is running.", err=True)
        sys.exit(3)
    click.echo(
        f"Stopped {reply['stopped']}." if reply.get("stopped") else "No session was running."
    )


@cli.group()
def service() -> None:
    """Install voicecoach as a systemd service."""


@service.command("install")
@click.option("--user", is_flag=True, help="A user unit (desktop with PipeWire/PulseAudio).")
@click.option("--dry-run", is_flag=True, help="Print what would be done, change nothing.")
def service_install(user: bool, dry_run: bool) -> None:
    """Write and enable the systemd unit for this voicecoach."""
    from voicecoach.service.install import InstallError, describe, execute, plan_install

    program = Path(sys.argv[0]).resolve()
    try:
        steps = plan_install(user, program)
        click.echo(describe(steps))
        if not dry_run:
            execute(steps)
    except InstallError as exc:
        _fail(str(exc))


@cli.command()
def voices() -> None:
    """List the espeak-ng voices (use one with --voice or voice.name in the config file)."""
    from voicecoach.speech.tts import SynthesisError, list_voices

    try:
        for name, language, file in list_voices():
            click.echo(f"{language:<16} {file:<16} {name}")
    except SynthesisError as exc:
        _fail(str(exc))


def _appliance_note(settings: Settings, command: str) -> None:
    """Say where the appliance's records are, when they are not the ones being read.

    The system service keeps its data in its own folder, readable only by its user; the
    control socket is no wider, so the way in is to run the command as that user.
    """
    from voicecoach.service.install import SERVICE_HOME, SERVICE_USER

    try:
        elsewhere = SERVICE_HOME.is_dir() and settings.data_dir.resolve() != SERVICE_HOME.resolve()
    except OSError:
        return
    if elsewhere:
        click.echo(
            f"note: these are the records in {settings.data_dir}; the appliance service keeps "
            f"its own in {SERVICE_HOME}. See them with: sudo -u {SERVICE_USER} voicecoach "
            f"--data-dir {SERVICE_HOME} {command}",
            err=True,
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, oldest session first.")
@click.pass_obj
def history(settings: Settings, as_json: bool) -> None:
    """Show past sessions: when, which routine, how it ended, what was done, pain reports.

    These are the sessions kept in the data folder; the appliance service keeps its own, and
    a note says how to see them.
    """
    from voicecoach.progress import when

    _appliance_note(settings, "history")
    if as_json:
        with _open_store(settings) as store:
            click.echo(json.dumps(store.history(), indent=2))
        return
    summary, sessions, names, _avoided = _progress(settings)
    if not sessions:
        click.echo("No sessions yet.")
    for s, shown in zip(sessions, summary["sessions"], strict=True):
        scores = s["checkins"]
        pain = ""
        if scores["start"] is not None or scores["end"] is not None:
            pain = f"  pain {_score(scores['start'])} -> {_score(scores['end'])}"
        title = f"{shown['title']} ({s['routine']})"
        click.echo(f"{when(s['started'])}  {title}  {shown['state']}{pain}")
        by_outcome: dict[str, list[str]] = {}
        for e in s["exercises"]:
            by_outcome.setdefault(e["outcome"], []).append(names.exercise(e["exercise"]))
        for outcome, label in OUTCOME_WORDS.items():
            if outcome in by_outcome:
                click.echo(f"    {label}: {', '.join(by_outcome[outcome])}")
        for p in s["pain"]:
            where = ", ".join(
                f"{k} {p[k]}" for k in ("side", "rep", "second") if p.get(k) is not None
            )
            said = f"{names.exercise(p['exercise'])}" + (f" ({where})" if where else "")
            click.echo(f"    pain reported at {when(p['at'])[11:]}: {said}")


#: How each outcome reads in the history, in the order shown.
OUTCOME_WORDS = {
    "done": "done",
    "stopped": "partly done",
    "dropped_pain": "taken out for pain",
    "skipped": "left out",
    "avoided": "on the avoid list",
}


def _score(value: int | None) -> str:
    return "-" if value is None else str(value)


def _progress(settings: Settings) -> tuple[dict[str, Any], list[dict[str, Any]], Any, list[Any]]:
    """(progress, history, names, avoid list) from the data folder, with the library's names."""
    from voicecoach.engine.session import UNCHOSEN
    from voicecoach.progress import Names, summarize

    library = _library(settings)
    names = Names(
        {r.id: r.title for r in library.routines.values()}
        | {UNCHOSEN.id: "CORE question, no routine chosen"},
        {e.id: e.name for e in library.exercises.values()},
    )
    with _open_store(settings) as store:
        history = store.history()
        changes = store.avoid_changes()
        entries = store.avoided()
        running = store.sessions_running()
    avoided = [a.exercise for a in entries]
    return summarize(history, changes, avoided, names, running), history, names, entries


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw it into this PNG file (needs matplotlib: scripts/setup.sh installs it).",
)
@click.pass_obj
def progress(settings: Settings, as_json: bool, png: Path | None) -> None:
    """Show how it is going.

    Pain before and after each session (the check-ins), sessions per week, exercises dropped
    and restored, and each exercise's dose over time.
    """
    from voicecoach.progress import as_text

    _appliance_note(settings, "progress")
    summary, _history, _names, _avoided = _progress(settings)
    if png is not None:
        _draw(lambda charts: charts.draw_png(summary, png), png)
    click.echo(json.dumps(summary, indent=2) if as_json else as_text(summary))
    if png is not None:
        click.echo(f"Drawn into {png}.", err=True)


def _draw(draw: Callable[[Any], None], path: Path) -> None:
    """Draw with the optional charts module; a clear message when it cannot."""
    from voicecoach import charts

    _check_writable(path)
    try:
        draw(charts)
    except charts.ChartsUnavailable as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {path}: {exc}")


@cli.command()
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write sessions, exercises, pain events, check-ins and the avoid list as CSV files "
    "into this folder.",
)
@click.option(
    "--pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a two-page report for a physiotherapist into this PDF file (needs matplotlib).",
)
@click.pass_obj
def export(settings: Settings, csv_dir: Path | None, pdf: Path | None) -> None:
    """Export the history: CSV files for a spreadsheet, or a PDF report for a clinician."""
    from voicecoach.export import write_csv

    if csv_dir is None and pdf is None:
        raise click.UsageError("say what to export: --csv DIR, --pdf FILE, or both.")
    _appliance_note(settings, "export")
    summary, history, names, entries = _progress(settings)
    if csv_dir is not None:
        avoided = [(a.exercise, a.since, a.reason) for a in entries]
        try:
            written = write_csv(csv_dir, history, avoided, names)
        except OSError as exc:
            _fail(f"cannot write into {csv_dir}: {exc}")
        click.echo(f"Wrote {len(written)} CSV files into {csv_dir}.")
    if pdf is not None:
        made = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
        source = f"voicecoach {__version__}, made {made}"
        _draw(lambda charts: charts.write_pdf(summary, pdf, source), pdf)
        click.echo(f"Wrote the report into {pdf}.")


@cli.command("restore")
@click.option("--force", is_flag=True, help="Replace the database even if it reads as sound.")
@click.pass_obj
def restore_command(settings: Settings, force: bool) -> None:
    """Put back the last verified backup of the history and the avoid list.

    For when voicecoach refuses a damaged or empty database. A backup is checked and kept after
    every session (DATA_DIR/backup/, with the one before it); the file it replaces is kept
    beside it, never deleted. Exits 1, changing nothing, when there is no usable backup.
    """
    from voicecoach.store import BackupError, restore

    try:
        restored = restore(settings.data_dir, force=force)
    except BackupError as exc:
        _fail(str(exc))
    except OSError as exc:
        command = _restore_command(settings)
        owner = f"Run it as the folder's owner: {command}" if command.startswith("sudo") else None
        _fail(f"cannot restore into {settings.data_dir}: {exc}", owner)
    backup = restored.backup
    click.echo(
        f"Restored {settings.data_dir / 'voicecoach.db'} from {backup.path} "
        f"(made {backup.made}): {backup.describe()}."
    )
    if restored.kept_aside is not None:
        click.echo(f"The file it replaced is kept as {restored.kept_aside}.")


@cli.group()
def avoid() -> None:
    """The avoid list: exercises left out of every session (added when one hurts)."""


@avoid.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def avoid_list(settings: Settings, as_json: bool) -> None:
    """Show the exercises on the avoid list, since when and why."""
    _appliance_note(settings, "avoid list")
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


def _plain(text: str) -> str:
    """An id or a name as a user may type it: any case, spaces, hyphens or underscores."""
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def _matching_ids(library: Library, text: str) -> list[str]:
    """The ids of the exercises ``text`` names: an id, or a name as ``show`` prints it."""
    if text in library.exercises:
        return [text]
    wanted = _plain(text)
    return sorted(
        ex.id for ex in library.exercises.values() if wanted in (_plain(ex.id), _plain(ex.name))
    )


def _exercise_id(library: Library, text: str) -> str:
    """The one exercise ``text`` names, or exit 1 (listing the ids when it names several)."""
    ids = _matching_ids(library, text)
    if len(ids) > 1:
        _fail(f"'{text}' names {len(ids)} exercises: {', '.join(ids)}.", "Give one of these ids.")
    if not ids:
        id_of = {ex.name: ex.id for ex in library.exercises.values()} | {
            i: i for i in library.exercises
        }
        close = dict.fromkeys(id_of[c] for c in difflib.get_close_matches(text, list(id_of), n=3))
        hint = f"Did you mean: {', '.join(close)}?" if close else None
        _fail(f"no exercise called '{text}'.", hint)
    return ids[0]


def _called(library: Library, exercise_id: str, text: str) -> str:
    """``exercise_id``, with the name as well when the user typed something else."""
    ex = library.exercises.get(exercise_id)
    return exercise_id if ex is None or text == exercise_id else f"{exercise_id} ({ex.name})"


@avoid.command("add")
@click.argument("exercise")
@click.pass_obj
def avoid_add(settings: Settings, exercise: str) -> None:
    """Leave EXERCISE out of every session from now on.

    EXERCISE is its name as `voicecoach show` prints it (any case) or its id.
    """
    library = _library(settings)
    exercise_id = _exercise_id(library, exercise)
    with _open_store(settings) as store:
        added = store.avoid_add(exercise_id)
    click.echo(
        f"{_called(library, exercise_id, exercise)} "
        f"{'added to' if added else 'was already on'} the avoid list."
    )


@avoid.command("remove")
@click.argument("exercise")
@click.pass_obj
def avoid_remove(settings: Settings, exercise: str) -> None:
    """Guide EXERCISE (a name or an id) again in later sessions."""
    library = _library(settings)
    with _open_store(settings) as store:
        listed = {e.exercise for e in store.avoided()}
        # The id as listed; else the one listed exercise the name means (ids of exercises no
        # longer in the library still work, typed as listed).
        ids = [exercise] if exercise in listed else _matching_ids(library, exercise)
        ids = [i for i in ids if i in listed]
        if len(ids) != 1:
            hint = "See it with: voicecoach avoid list"
            if len(ids) > 1:
                hint = f"It names several listed exercises: {', '.join(ids)}; give one id."
            _fail(f"{exercise} is not on the avoid list.", hint)
        store.avoid_remove(ids[0])
    click.echo(
        f"{_called(library, ids[0], exercise)} removed from the avoid list; "
        "it will be guided again."
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="voicecoach")
