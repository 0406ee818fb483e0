"""CLI raw errors of issue 19: each is one line naming the problem and the fix, exit status 2, no traceback.

Exit status 2 is the CLI's documented status for a paretoml error (README "Command line"); typer uses 2
for a bad option too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretoml.cli import app

runner = CliRunner()


def _study_file(folder: Path, data: Path) -> Path:
    path = folder / "s.yaml"
    path.write_text(f"data: {data}\ntarget: y\nbudget: 1 trials\n")
    return path


def _one_error(output: str) -> str:
    """The error message (the console wraps it at 140 columns), checked to be one message with no traceback.

    A wrapped line may itself start with "error:" when the message quotes a library (pandas' "C error:"),
    so the check is that the output is the handler's one message, not a count of such lines.
    """
    assert output.startswith("error: ") and "Traceback" not in output and output.strip().count("\n\n") == 0, output
    return " ".join(output.split())


@pytest.mark.parametrize(
    "content",
    [b"a,y\n1,0\n2,1,7,8\n3,0\n", bytes(range(256)) * 8],
    ids=["malformed", "binary"],
)
def test_unreadable_csv_is_one_line(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(content)
    out = runner.invoke(app, ["run", str(_study_file(tmp_path, data))])
    assert out.exit_code == 2, out.output
    text = _one_error(out.output)
    assert f"`data` file {str(data)!r} cannot be read as CSV" in text, text
    assert "UTF-8 CSV with one header row" in text, text
    assert not (tmp_path / "s.db").exists()


def test_front_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("just some text\n")
    out = runner.invoke(app, ["front", str(notes)])
    assert out.exit_code == 2
    text = _one_error(out.output)
    assert "is not a SQLite database" in text and "Pass the study database" in text, out.output
    assert notes.read_text() == "just some text\n"


def test_front_on_a_sqlite_file_without_a_study_adds_no_tables(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    out = runner.invoke(app, ["front", str(other)])
    assert out.exit_code == 2
    assert "without any Optuna study" in _one_error(out.output)
    with sqlite3.connect(other) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["t"]  # reading added no Optuna tables


def test_front_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'dir' / 'x.db'}"
    out = runner.invoke(app, ["front", url])
    assert out.exit_code == 2
    text = _one_error(out.output)
    assert "does not exist" in text and "reading never creates one" in text, out.output
    assert not (tmp_path / "no").exists()


def test_dashboard_port_out_of_range(tmp_path: Path) -> None:
    out = runner.invoke(app, ["dashboard", str(tmp_path / "x.db"), "--port", "99999"])
    assert out.exit_code == 2 and out.exception is not None and isinstance(out.exception, SystemExit)
    text = " ".join(out.output.split())
    assert "Invalid value for '--port'" in text and "65535" in text and "Traceback" not in text, out.output


@pytest.mark.parametrize(
    ("name", "match"),
    [("folder", "is a folder. Pass the study database file inside it"), ("x.log", "holds no study. Pass the database")],
)
def test_front_on_a_folder_or_a_journal_without_a_study(tmp_path: Path, name: str, match: str) -> None:
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
    else:
        target.write_text("not a journal {\n")
    out = runner.invoke(app, ["front", str(target)])
    assert out.exit_code == 2 and match in _one_error(out.output), out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing created beside it


def test_name_number_options_parse_and_refuse_with_the_option_named() -> None:
    from paretoml.cli._common import parse_assignments
    from paretoml.exceptions import ConfigError

    assert parse_assignments(["latency_p95_ms=1.5", " size_kb =256"], "--constraint", "x=1") == {
        "latency_p95_ms": 1.5,
        "size_kb": 256.0,
    }
    assert parse_assignments(None, "--limit", "x=1") == {}
    for bad in ("size_kb", "size_kb=big"):
        with pytest.raises(ConfigError, match=r"`--limit` must be NAME=NUMBER, e\.g\. max_memory_kb=512"):
            parse_assignments([bad], "--limit", "max_memory_kb=512")
