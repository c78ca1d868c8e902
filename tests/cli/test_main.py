"""The `fleet` command: version, help, and user errors as one line instead of a traceback."""

import argparse

import pytest

from fleet import cli
from fleet.structs import errors


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("fleet ")


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: fleet" in capsys.readouterr().out


def test_user_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: argparse.Namespace) -> int:
        raise errors.UserError("no such file", where="inventory.yaml")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser.set_defaults(handler=failing)
    assert cli.main([]) == 2
    assert capsys.readouterr().err == "fleet: error: inventory.yaml: no such file\n"
