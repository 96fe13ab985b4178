"""Spoken lines that say, or sound like, a command are refused, however they are written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import cli
from voicecoach.engine.effects import Count, Say
from voicecoach.routines.loader import load_builtin
from voicecoach.routines.spoken import spoken_problem
from voicecoach.session.harness import run_script
from voicecoach.speech.phonemes import transcribe
from voicecoach.vocabulary import Intent

REWORD = "the coach must never say a command; reword it"

#: One exercise whose name, position and setup are filled in by each test (TOML text).
ROUTINE = """title = "Gentle start"
summary = "One exercise."
source = "My physiotherapist"

[[steps]]
exercise = "my_slide"

[exercises.my_slide]
name = {name}
position = {position}
setup = [{setup}]
action = "Slowly slide one heel away along the mat."
release = "Slide it back."
hold_s = 3
suits = ["general"]
source = "My physiotherapist"
"""
NAME_AT = "my.toml:9:8: exercises.my_slide.name"
POSITION_AT = "my.toml:10:12: exercises.my_slide.position"
SETUP_AT = "my.toml:11:10: exercises.my_slide.setup[0]"


def validate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str = '"Heel slide"',
    position: str = '"Lie on your back with both knees bent."',
    setup: str = '"Rest your arms by your sides."',
) -> tuple[int, str, str]:
    (tmp_path / "my.toml").write_text(
        ROUTINE.format(name=name, position=position, setup=setup), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", "my.toml"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_a_plain_line_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert validate(tmp_path, monkeypatch) == (0, "", "ok\n")


def test_soft_hyphen_inside_a_command_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    code, out, _ = validate(tmp_path, monkeypatch, name=r'"Ne\u00ADxt slide"')
    assert code == 1
    assert out == (
        f"{NAME_AT}: spoken text contains the command phrase 'next' behind U+00AD SOFT HYPHEN, "
        f"which cannot be seen ({REWORD})\n"
    )


def test_zero_width_space_inside_a_command_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The character itself in the file, as a copy and paste would leave it.
    code, out, _ = validate(tmp_path, monkeypatch, setup='"Now wa\u200bit for a moment."')
    assert code == 1
    assert out == (
        f"{SETUP_AT}: spoken text contains the command phrase 'wait' behind U+200B ZERO WIDTH "
        f"SPACE, which cannot be seen ({REWORD})\n"
    )


def test_homophone_of_a_command_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    position = '"Kneel, and rest your weight on your hands."'
    code, out, _ = validate(tmp_path, monkeypatch, position=position)
    assert code == 1
    assert out == (
        f"{POSITION_AT}: 'weight' sounds like \"wait\" (both /weɪt/ to espeak-ng; {REWORD})\n"
    )


def test_a_word_that_starts_with_a_command_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    code, out, _ = validate(tmp_path, monkeypatch, name='"Continuous walk"')
    assert code == 1
    assert out == (
        f"{NAME_AT}: 'Continuous' starts with the sound of \"continue\" "
        f"(/kəntɪnjuː/ to espeak-ng; {REWORD})\n"
    )


def test_every_problem_is_reported_at_its_own_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    code, out, _ = validate(
        tmp_path, monkeypatch, name='"Continuous walk"', position='"Shift your weight."'
    )
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == ["my.toml:9:8", "my.toml:10:12"]


@pytest.mark.parametrize(
    "text",
    [
        "Press against the mat.",  # "again" and then a consonant cluster: another word
        "This is helpful.",
        "Get onto all fours.",
        "Keep your neck straight, then stretch.",
        "Hold for twenty seconds, then relax.",
        "Breathe in, and breathe out slowly.",
    ],
)
def test_ordinary_words_pass(text: str):
    assert spoken_problem(text) is None


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("Rest your paws.", '"pause"'),
        ("Lift the weights.", '"wait"'),  # a homophone's plural, as "waits" is refused
        ("Keep waiting.", "'waiting'"),  # the text check's own inflections still apply
        ("Ｎｅｘｔ, lie down.", "'next' once written in plain letters (Unicode NFKC)"),
        ("Shift your\u0000 weight.", '"wait"'),  # a NUL does not cut the line short
    ],
)
def test_command_sounds_are_refused(text: str, command: str):
    problem = spoken_problem(text)
    assert problem is not None and command in problem


def test_the_builtin_library_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--routines-dir", str(tmp_path), "validate"])
    assert (result.exit_code, result.stdout) == (0, "")
    library = load_builtin()
    assert library.errors == []
    for routine in library.routines.values():
        assert spoken_problem(routine.title) is None
        for ex in routine.exercises:
            for where, text in ex.spoken_texts():
                assert spoken_problem(text) is None, (ex.id, where, text)


def test_the_engine_never_sounds_like_a_command_unless_it_quotes_one():
    for routine in load_builtin().routines.values():
        first_count = run_script(routine).of(Count)[0].t
        for events in ([], [(first_count + 0.1, Intent.STOP)], [(30.0, Intent.PAUSE)]):
            for e in run_script(routine, events).of(Say):
                if not e.effect.quotes_commands:
                    assert spoken_problem(e.effect.text) is None, e.effect.text


def test_phonemes_come_from_the_library_and_match_the_ear():
    assert transcribe("weight") == transcribe("wait") == "w'eIt"
    assert transcribe("ne\u00adxt") == transcribe("next")
    two_clauses = transcribe("Hold it. Stop now!")
    assert len(two_clauses.split()) == 4 and two_clauses.endswith(" " + transcribe("stop now"))
    assert transcribe("paws", "en-gb") == transcribe("pause", "en-us")


def test_training_negatives_leave_out_what_sounds_like_a_command():
    from training.phrases import homophones

    assert homophones(["paws", "weight", "pose", "white", "outch"]) == ["paws", "weight", "outch"]


#: The command line with pyttsx3's espeak-ng binding made unloadable, as on a system without it.
WITHOUT_ESPEAK = (
    "import sys; sys.modules['pyttsx3.drivers._espeak'] = None; "
    "from voicecoach.cli import main; sys.argv[0] = 'voicecoach'; main()"
)


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ('"Continuous walk"', 0, ""),
        (r'"Ne\u00ADxt slide"', 1, "spoken text contains the command phrase 'next' behind"),
    ],
)
def test_without_espeak_the_text_check_still_runs_and_says_so(
    tmp_path: Path, name: str, code: int, expected: str
):
    (tmp_path / "my.toml").write_text(ROUTINE.format(name=name, position='"Stand."', setup='"Up."'))
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_ESPEAK, "validate", "my.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert run.returncode == code, run.stderr
    assert expected in run.stdout
    assert "Traceback" not in run.stderr
    assert "note: the sound check was skipped (espeak-ng is not available" in run.stderr


def test_a_megabyte_line_is_checked_by_sound_without_hanging(tmp_path: Path):
    position = '"' + "Slide your heel along the mat, " * 33_000 + 'then shift your weight."'
    routine = ROUTINE.format(name='"Heel"', position=position, setup='"Up."')
    (tmp_path / "my.toml").write_text(routine)
    run = subprocess.run(
        [sys.executable, "-m", "voicecoach", "validate", "my.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,  # about 2 s here: a slip into reading the line over and over shows as a hang
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert run.returncode == 1
    assert run.stdout.startswith(f"{POSITION_AT}: 'weight' sounds like \"wait\"")
