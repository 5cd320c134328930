"""The names the page shows and the names the server gives uploads."""

from __future__ import annotations

import pytest

from riskengine.errors import UserInputError
from riskengine.web.uploads import megabytes, server_suffix, shown_name


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\buyer\\Sourcing Q3.xlsx", "Sourcing Q3.xlsx"),
        ("list\x00\u202e.csv", "list.csv"),
        ("..", ".."),
        ("/", "upload"),
    ],
)
def test_the_shown_name_is_the_last_part_without_control_characters(
    client_name: str, shown: str
) -> None:
    assert shown_name(client_name) == shown


@pytest.mark.parametrize(
    ("client_name", "suffix"),
    [
        ("../list.csv", ".csv"),
        ("EORD.XLS", ".xlsx"),
        ("export.csv.GZ", ".csv.gz"),
        ("lines.ndjson.zstd", ".jsonl.zst"),
    ],
)
def test_the_server_suffix_is_the_format_s_own(client_name: str, suffix: str) -> None:
    assert server_suffix(client_name) == suffix


def test_a_name_that_tells_no_format_is_refused_with_the_command_line_s_message() -> None:
    with pytest.raises(UserInputError, match=r"^notes\.txt: cannot tell the format"):
        server_suffix("notes.txt")


def test_sizes_read_in_megabytes_or_bytes() -> None:
    assert megabytes(50_000_000) == "50.0 MB"
    assert megabytes(1_000) == "1,000 bytes"
