"""The README and the manual in docs/ stay true: every command output they quote, and every row of
the bug tables, is produced again here and compared."""

import re
import shlex
from pathlib import Path

import pytest
from conftest import check_json, run_cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PAGES = {path.name: path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
DIAGNOSIS = PAGES["diagnosis.md"]


def quoted_runs() -> list[tuple[str, list[str]]]:
    """(command, the lines a page shows after it) for each `$ gradtui …` in a fenced block of the
    README or a page of docs/; a line `...` stands for any number of lines."""
    blocks, block = [], None
    for line in "\n".join(PAGES.values()).splitlines():
        if line.startswith("```"):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
        elif block is not None:
            block.append(line)
    runs = []
    for lines in blocks:
        for line in lines:
            if line.startswith("$ "):
                runs.append((line[2:], []))
            elif runs and runs[-1][1] is not None and lines[0].startswith("$ "):
                runs[-1][1].append(line)
    return runs


def appears_in_order(expected: list[str], actual: list[str]) -> bool:
    """Each run of lines between `...` appears, whole and in order, in the actual output."""
    chunks, current = [], []
    for line in expected:
        if line.strip() == "...":
            chunks.append(current)
            current = []
        else:
            current.append(line.rstrip())
    chunks.append(current)
    position = 0
    for chunk in (c for c in chunks if c):
        found = next((i for i in range(position, len(actual) - len(chunk) + 1)
                      if actual[i:i + len(chunk)] == chunk), None)
        if found is None:
            return False
        position = found + len(chunk)
    return True


RUNS = quoted_runs()


def test_the_readme_quotes_outputs_and_is_read_in_five_minutes():
    assert len(RUNS) >= 6
    assert README.count("\n") <= 250  # what it is, install, the commands, its users; the manual is in docs/


@pytest.mark.parametrize("command, lines", RUNS, ids=[command for command, _ in RUNS])
def test_a_quoted_output_is_what_the_command_prints(capsys, monkeypatch, command, lines):
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the repository
    argv = shlex.split(command)
    assert argv[0] == "gradtui"
    _, out, err = run_cli(capsys, *argv[1:])
    actual = [line.rstrip() for line in (out + err).splitlines()]
    assert appears_in_order(lines, actual), "\n".join(actual)


def bug_tables() -> list[list[list[str]]]:
    tables = []
    for marker in ("bug-table", "bug-table-course", "bug-table-any"):
        table = DIAGNOSIS.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
        tables.append([[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
                       for line in table.strip().splitlines()[2:]])
    return tables


def bug_rows() -> list[tuple[str, str, str, str | None]]:
    """Each row: its command, where it stops, what it says, and (the samples' table) its verified fix."""
    return [(cells[1].strip("`"), cells[2], cells[3], cells[4] if index == 0 else None)
            for index, table in enumerate(bug_tables()) for cells in table]


BUG_ROWS = bug_rows()


def quoted_words(cell: str) -> list[str]:
    return re.findall(r'"([^"]+)"', cell)


@pytest.mark.parametrize("command, where, says, fix", BUG_ROWS, ids=[row[0].split("samples/")[1] for row in BUG_ROWS])
def test_a_row_of_the_bug_table_is_what_check_says_and_its_fix_the_one_it_shows(capsys, monkeypatch, command, where,
                                                                                 says, fix):
    monkeypatch.chdir(ROOT)
    code, report = check_json(capsys, *shlex.split(command)[2:], *(["--fix"] if fix is not None else []))
    if fix is not None:
        verified_fix_is(report, fix)
    texts = [t["hint"] or "" for step in report["steps"] for t in step["tensors"]]
    texts += [(report["float64_replay"] or {}).get("hint") or ""]
    texts += [note for step in report["steps"] for note in step["notes"]]
    texts += [step["error"]["type"] for step in report["steps"] if step["error"]]
    for words in quoted_words(says):
        assert any(words in text for text in texts), (words, texts)
    if where.startswith("—"):
        assert code == 0 and report["first_mismatch"] is None
        return
    if where.startswith("≠"):
        index, layer, tensor = re.match(r"≠ (\d+) `(\w+)` `([\w.]+)`", where).groups()
        assert report["first_deviation"] == {"index": int(index), "layer": layer, "tensor": tensor}
        assert code == 0 and report["first_mismatch"] is None
        return
    index, layer, tensor, only = re.match(r"(\d+) `(\w+)` (?:`([\w.]+)`|\(raised\))(?: \(([^)]*) only\))?",
                                         where).groups()
    assert code == 1
    if only:  # a mismatch the run hid (its rounding: "float64"; a constant: "gamma1 off 1"), seen by the replay
        assert report["first_mismatch"] == {"index": int(index), "layer": layer, "tensor": tensor, "seen_in": "float64"}
        assert quoted_words(says)[0] in report["float64_replay"]["hint"]
        moved = report["float64_replay"]["moved"]
        if only == "float64":
            assert moved == {}
        else:
            name, value = only.split(" off ")
            assert moved[name] == float(value)
        return
    assert report["first_mismatch"] == {"index": int(index), "layer": layer, "tensor": tensor}
    first = report["steps"][int(index)]
    said = first["error"]["type"] if tensor is None else next(t["hint"] for t in first["tensors"] if t["name"] == tensor)
    assert quoted_words(says)[0] in said


def verified_fix_is(report: dict, fix: str) -> None:
    """The JSON's fix is what the row's fix column shows: none, "no verified fix", or the lines it writes."""
    if fix == "—":
        assert report["fix"] is None
        return
    if fix == "no verified fix":
        assert not report["fix"]["verified"]
        return
    assert report["fix"]["verified"] and report["fix"]["passes"]
    written = [line[1:].split("  #")[0].strip() for line in report["fix"]["diff"].splitlines()
               if line.startswith("+") and not line.startswith("+++")]
    assert written == re.findall(r"`([^`]+)`", fix)
