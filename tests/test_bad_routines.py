"""A corpus of broken routine files, each with the exact errors `validate` must print."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import cli

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(BAD.glob("*.toml"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 20
    assert all(case.with_suffix(".expected").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_validate_prints_exactly_the_expected_errors(case: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(cli, ["validate", case.name])
    expected = case.with_suffix(".expected").read_text()
    assert result.exit_code == 1
    assert result.stdout == expected
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
