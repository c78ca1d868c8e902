"""A SourceFile's repr names the file and its size, never its content (it may be a Secret)."""

from fleet.structs.sources import SourceFile


def test_repr_shows_path_and_size_not_content() -> None:
    source = SourceFile("apps/web/secret.yaml", b"password: hunter2")
    assert repr(source) == "SourceFile('apps/web/secret.yaml', 17 bytes)"
