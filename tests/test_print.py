"""`print`: what `run` would inject, in forms that read back exactly."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calitho_env.core.bindings import Binding, ProcessSource
from calitho_env.core.formats import render
from calitho_env.errors import ConfigurationError
from tests.harness import DUMP_ENV, Cli, base_env, write

ROOT = Path(__file__).resolve().parent.parent
NODE_FOLDER = ROOT / "build" / "node"  # owned by the tests; `make test` fills it

TRICKY = [
    "",
    " ",
    "a b",
    "'",
    '"',
    "\\",
    "\\\\",
    "\\n",
    "$HOME",
    "${HOME}",
    "`id`",
    "$(id)",
    "#",
    " #x",
    "a#b",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "=",
    "ünï©ødé",
    "it's",
    'say "hi"',
    "\\'",
    "x\\",
    "'quoted'",
    '"dq"',
    "`bt`",
]
values_strategy = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\"\\$`#\n\r\t =-{}()")),
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    ),
    max_size=24,
)


def node_dotenv() -> Path:
    """Node's dotenv package in a folder the tests own (installed once, under a lock)."""
    package = NODE_FOLDER / "node_modules" / "dotenv"
    if not package.exists():
        NODE_FOLDER.mkdir(parents=True, exist_ok=True)
        with open(NODE_FOLDER / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not package.exists():
                subprocess.run(
                    [
                        "npm",
                        "install",
                        "--prefix",
                        str(NODE_FOLDER),
                        "--no-audit",
                        "--no-fund",
                        "--silent",
                        "dotenv@17",
                    ],
                    check=True,
                    timeout=300,
                )
    return package


def read_with_node(path: Path) -> dict[str, str]:
    code = (
        "const d=require(process.argv[1]);const fs=require('fs');"
        "process.stdout.write(JSON.stringify(d.parse(fs.readFileSync(process.argv[2]))))"
    )
    out = subprocess.run(
        ["node", "-e", code, str(node_dotenv()), str(path)], capture_output=True, text=True, check=True
    ).stdout
    parsed: dict[str, str] = json.loads(out)
    return parsed


def read_with_shell(shell: str, path: Path) -> dict[str, str]:
    """eval the file in a shell with an empty environment, then dump what it exported."""
    out = subprocess.run(
        [shell, "-c", f'eval "$(cat {path})" && exec env -0'], env={}, capture_output=True, check=True
    ).stdout
    pairs = [entry.decode().split("=", 1) for entry in out.split(b"\0") if entry]
    return {name: value for name, value in pairs if name.startswith("V")}


def bindings_of(values: list[str]) -> list[Binding]:
    return [Binding(f"V{index}", value, ProcessSource()) for index, value in enumerate(values)]


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values_strategy)
def test_dotenv_output_reads_back_identically_in_python_dotenv_and_node(value: str, tmp_path: Path) -> None:
    path = tmp_path / "out.env"
    if '"' in value or "\\" in value:
        try:
            text = render(bindings_of([value]), "dotenv", mask=False)
        except ConfigurationError as error:
            failure = error.message
            assert "V0" in failure
            return
    else:  # a value without " or \ always has a dotenv form
        text = render(bindings_of([value]), "dotenv", mask=False)
    path.write_text(text, encoding="utf-8")
    assert dotenv_values(path, interpolate=False) == {"V0": value}
    assert read_with_node(path) == {"V0": value}


@needs_node
def test_dotenv_output_of_tricky_values_reads_back_in_both(tmp_path: Path) -> None:
    carried = TRICKY
    path = tmp_path / "out.env"
    path.write_text(render(bindings_of(carried), "dotenv", mask=False), encoding="utf-8")
    expected = {f"V{i}": v for i, v in enumerate(carried)}
    assert dotenv_values(path, interpolate=False) == expected
    assert read_with_node(path) == expected


def test_a_value_no_dotenv_quoting_can_carry_is_an_error_naming_the_variable(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", 'FINE=1\nIMPOSSIBLE="it\'s a \\"quote\\" # here"\n')
    result = cli("print", env=base_env(tmp_path))
    assert result.returncode == 78
    assert "the value of IMPOSSIBLE cannot be written in dotenv form" in result.stderr
    assert "--format json" in result.stderr
    assert cli("print", "--format", "json", env=base_env(tmp_path)).returncode == 0


@pytest.mark.parametrize("shell", ["sh", "dash", "bash"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(values_strategy, min_size=1, max_size=4))
def test_shell_output_evaluated_reproduces_every_value(shell: str, values: list[str], tmp_path: Path) -> None:
    path = tmp_path / "out.sh"
    path.write_text(render(bindings_of(values), "shell", mask=False), encoding="utf-8")
    assert read_with_shell(shell, path) == {f"V{i}": v for i, v in enumerate(values)}


@pytest.mark.parametrize("shell", ["sh", "dash", "bash"])
def test_shell_output_never_runs_code_from_a_value(shell: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    values = [f"$(touch {marker})", f"`touch {marker}`", f"'; touch {marker}; '", f"\n touch {marker}\n"]
    path = tmp_path / "out.sh"
    path.write_text(render(bindings_of(values), "shell", mask=False), encoding="utf-8")
    assert read_with_shell(shell, path) == {f"V{i}": v for i, v in enumerate(values)}
    assert not marker.exists()


def test_print_shows_what_run_injects_by_default_and_everything_with_all(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", "FROM_FILE=1\n")
    env = base_env(tmp_path, {"INHERITED": "x"})
    assert json.loads(cli("print", "--format", "json", env=env).stdout) == {"FROM_FILE": "1"}
    everything = json.loads(cli("print", "--format", "json", "--all", env=env).stdout)
    child = cli("run", "--", *DUMP_ENV, env=env).child_env()
    assert everything == {name: value for name, value in child.items() if name != "__NEXT_PROCESSED_ENV"}


def test_print_with_names_shows_only_those_and_fails_on_unset_ones(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "A=1\nB=2\n")
    assert cli("print", "B", env=base_env(tmp_path)).stdout == "B='2'\n"
    result = cli("print", "B", "NOPE", env=base_env(tmp_path))
    assert result.returncode == 1
    assert "not set: NOPE" in result.stderr


def test_json_is_exact_utf8(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", 'U="ünï\\n\\"q\\""\n')
    result = subprocess.run(
        [sys.executable, "-m", "calitho_env", "print", "--format", "json"],
        cwd=project,
        env=base_env(tmp_path),
        capture_output=True,
        check=True,
    )
    assert "ünï".encode() in result.stdout
    assert json.loads(result.stdout) == {"U": 'ünï\n"q"'}


@pytest.mark.parametrize("format_name", ["dotenv", "json", "shell", "docker", "table"])
def test_mask_hides_values_in_every_format(cli: Cli, project: Path, tmp_path: Path, format_name: str) -> None:
    write(project / ".env", "SECRET=hunter2-value\nEMPTY=\n")
    result = cli("print", "--mask", "--format", format_name, env=base_env(tmp_path))
    assert result.returncode == 0
    assert "hunter2" not in result.stdout
    assert "SECRET" in result.stdout


def test_table_masks_values_and_names_sources(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "SECRET=hunter2-value\n")
    table = cli("print", "--format", "table", env=base_env(tmp_path)).stdout.splitlines()
    assert table[0].split() == ["NAME", "SOURCE", "VALUE"]
    assert table[1].split() == ["SECRET", "file:.env:1", "********"]


def test_a_reader_that_leaves_early_gets_no_traceback(project: Path, tmp_path: Path) -> None:
    write(project / ".env", "".join(f"K{i}={'x' * 300}\n" for i in range(3000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "calitho_env", "print"],
        cwd=project,
        env=base_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # like `| head -0`; click turns the EPIPE into a quiet exit 1
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr == b""
