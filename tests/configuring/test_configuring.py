"""Settings from flags and ``FLEET_*`` variables: the mapping, precedence, conversions,
errors that name the flag or variable (never a secret's value), and the docs table."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from fleet.runtime import configuring
from fleet.structs import errors
from fleet.structs.settings import Secret, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def load(parser: argparse.ArgumentParser, argv: list[str], env: dict[str, str]) -> Settings:
    return configuring.load(parser.parse_args(argv), env, into=Settings)


def test_nothing_given_is_the_defaults(parser: argparse.ArgumentParser) -> None:
    assert load(parser, [], {}) == Settings()
    assert configuring.load(None, {}, into=Settings) == Settings()


def test_the_variables_the_docs_promise(parser: argparse.ArgumentParser) -> None:
    env = {
        "FLEET_GIT_POLL_INTERVAL": "30",
        "FLEET_API_TOKEN": "t" * 20,
        "FLEET_DATABASE_URL": "postgresql://fleet:pw@db:5432/fleet",
        "FLEET_WORKERS": "4",
        "FLEET_GIT_URL": "https://git.example.com/fleet.git",
        "FLEET_WEBHOOK_SECRET": "hook-secret",
        "FLEET_API_LISTEN": "0.0.0.0:8080",
        "FLEET_API_CORS_ORIGINS": "https://a.example, https://b.example:8443,",
        "FLEET_GIT_SSH_KEY_FILE": "/etc/fleet/id_ed25519",
        "FLEET_GIT_PASSWORD": "git-token",
    }
    settings = load(parser, [], env)
    assert settings.git.poll_interval == 30.0
    assert settings.api.token == Secret("t" * 20)
    assert settings.history.database_url == Secret("postgresql://fleet:pw@db:5432/fleet")
    assert settings.queue.workers == 4
    assert settings.git.url == "https://git.example.com/fleet.git"
    assert settings.webhook.secret == Secret("hook-secret")
    assert settings.api.listen == "0.0.0.0:8080"
    assert settings.api.cors_origins == ("https://a.example", "https://b.example:8443")
    assert settings.git.ssh_key_file == Path("/etc/fleet/id_ed25519")
    assert settings.git.http_password == Secret("git-token")


def test_a_flag_wins_over_the_environment(parser: argparse.ArgumentParser) -> None:
    env = {"FLEET_WORKERS": "4", "FLEET_GIT_POLL_INTERVAL": "30"}
    settings = load(parser, ["--workers", "8", "--git-poll-interval", "5"], env)
    assert (settings.queue.workers, settings.git.poll_interval) == (8, 5.0)


@pytest.mark.parametrize(
    ("argv", "setting", "value"),
    [
        (["--repo", "/srv/fleet"], "git.url", "/srv/fleet"),
        (["--git-url", "/srv/fleet"], "git.url", "/srv/fleet"),
        (["--branch", "prod"], "git.branch", "prod"),
        (["--poll-interval", "15"], "git.poll_interval", 15.0),
        (["--listen", "[::1]:9000"], "api.listen", "[::1]:9000"),
        (["--workers", "2"], "queue.workers", 2),
        (["--history-schema", "fleet_prod"], "history.schema", "fleet_prod"),
        (["--git-ssh-key-file", ""], "git.ssh_key_file", None),
    ],
)
def test_short_and_canonical_flags(
    parser: argparse.ArgumentParser, argv: list[str], setting: str, value: object
) -> None:
    group, field = setting.split(".")
    assert getattr(getattr(load(parser, argv, {}), group), field) == value


def test_an_empty_variable_counts_as_unset(parser: argparse.ArgumentParser) -> None:
    assert load(parser, [], {"FLEET_WORKERS": "", "FLEET_API_TOKEN": ""}) == Settings()


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"FLEET_WORKERS": "many"}, "FLEET_WORKERS: expected an integer, got 'many'"),
        (["--workers", "0"], {}, "--workers: must be at least 1, not 0"),
        ([], {"FLEET_GIT_POLL_INTERVAL": "-1"}, "FLEET_GIT_POLL_INTERVAL: must be above 0"),
        (
            [],
            {"FLEET_GIT_POLL_INTERVAL": "1m"},
            "FLEET_GIT_POLL_INTERVAL: expected a number, got '1m'",
        ),
        ([], {"FLEET_API_LISTEN": "8080"}, "FLEET_API_LISTEN: must be host:port"),
        (["--listen", "8080"], {}, "--listen: must be host:port"),
        ([], {"FLEET_API_TOKEN": "tiny-secret"}, "FLEET_API_TOKEN: must be 16 to 4096"),
        (
            [],
            {"FLEET_DATABASE_URL": "mysql://root:tiny-secret@db/x"},
            "FLEET_DATABASE_URL: must look like",
        ),
        (
            [],
            {"FLEET_QUEUE_BASE_DELAY": "10", "FLEET_QUEUE_MAX_DELAY": "1"},
            "FLEET_QUEUE_MAX_DELAY: must be at least base_delay",
        ),
        ([], {"FLEET_QUEUE_BASE_DELAY": "1000"}, "queue.max_delay: must be at least base_delay"),
    ],
)
def test_bad_values_name_the_flag_or_variable_and_hide_secrets(
    parser: argparse.ArgumentParser, argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(errors.UserError) as raised:
        load(parser, argv, env)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "tiny-secret" not in str(raised.value)


def test_mapping_has_one_flag_set_and_one_variable_per_setting() -> None:
    options = configuring.options(Settings)
    flags = [flag for option in options for flag in option.flags]
    variables = [option.variable for option in options]
    assert len(flags) == len(set(flags))
    assert len(variables) == len(set(variables))
    assert all(re.fullmatch(r"FLEET_[A-Z0-9_]+", variable) for variable in variables)
    settings = [option.setting for option in options]
    expected = [
        f"{group.name}.{field.name}"
        for group in dataclasses.fields(Settings)
        for field in dataclasses.fields(getattr(Settings(), group.name))
    ]
    assert settings == expected


def test_every_setting_is_explained_in_help(parser: argparse.ArgumentParser) -> None:
    for option in configuring.options(Settings):
        assert option.help, f"{option.setting} has no docstring in fleet/structs/settings.py"
    text = " ".join(parser.format_help().split())
    assert "FLEET_GIT_POLL_INTERVAL; default 60.0" in text
    assert "--repo TEXT, --git-url TEXT" in text
    assert "--workers N, --queue-workers N" in text
    assert "--api-cors-origins A,B" in text
    assert "Prefer the variable" in text
    assert "api: The HTTP server of the status API" in text


def _table() -> str:
    lines = ["| setting | flags | variable | default |", "| --- | --- | --- | --- |"]
    for option in configuring.options(Settings):
        default = "" if option.default in (None, "", ()) else f"`{option.default}`"
        flags = ", ".join(f"`{flag}`" for flag in option.flags)
        lines.append(f"| `{option.setting}` | {flags} | `{option.variable}` | {default} |")
    return "\n".join(lines)


def test_docs_list_every_setting() -> None:
    begin, end = "<!-- settings table (begin) -->", "<!-- settings table (end) -->"
    text = DOCS.read_text()
    documented = text.split(begin, 1)[1].split(end, 1)[0].strip()
    assert documented == _table(), f"replace the table in {DOCS} with:\n{_table()}"


@dataclasses.dataclass(frozen=True, slots=True)
class Toggles:
    """Switches."""

    enabled: bool = False
    """Whether it is on."""


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    toggles: Toggles = dataclasses.field(default_factory=Toggles)


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("YES", True), ("1", True), ("off", False), ("0", False)]
)
def test_booleans(text: str, value: bool) -> None:
    loaded = configuring.load(None, {"FLEET_TOGGLES_ENABLED": text}, into=Sample)
    assert loaded.toggles.enabled is value


def test_a_bad_boolean_names_the_variable() -> None:
    with pytest.raises(errors.UserError, match="FLEET_TOGGLES_ENABLED: expected true or false"):
        configuring.load(None, {"FLEET_TOGGLES_ENABLED": "maybe"}, into=Sample)


@dataclasses.dataclass(frozen=True, slots=True)
class Odd:
    ratio: complex = 0j


@dataclasses.dataclass(frozen=True, slots=True)
class OddSample:
    odd: Odd = dataclasses.field(default_factory=Odd)


def test_a_field_type_without_a_conversion_is_found_at_once() -> None:
    with pytest.raises(TypeError, match=r"odd\.ratio: no conversion from text"):
        configuring.options(OddSample)


def test_a_switch_alone_means_true() -> None:
    parser = argparse.ArgumentParser()
    configuring.add_arguments(parser, into=Settings)
    alone = configuring.load(parser.parse_args(["--leader-elect"]), {}, into=Settings)
    off = configuring.load(parser.parse_args(["--leader-elect", "false"]), {}, into=Settings)
    assert (alone.leader.enabled, off.leader.enabled) == (True, False)
