"""python-dotenv's parser, loaded without the package's __init__ (calitho_env/dotenv_syntax.py)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import dotenv.parser
import dotenv.variables

from calitho_env.core import dotenv_syntax

SAMPLE = "A=1\nexport B=\"two words\"\nC=${A}-x\n# comment\nbad line\nD='${A}'\n"
ROOT = Path(__file__).resolve().parent.parent


def test_it_is_python_dotenvs_own_code_and_parses_the_same() -> None:
    assert dotenv_syntax.parse_stream.__code__.co_filename == dotenv.parser.parse_stream.__code__.co_filename
    ours = [(b.key, b.value, b.error, b.original.line) for b in dotenv_syntax.parse_stream(io.StringIO(SAMPLE))]
    theirs = [(b.key, b.value, b.error, b.original.line) for b in dotenv.parser.parse_stream(io.StringIO(SAMPLE))]
    assert ours == theirs
    assert [type(a).__name__ for a in dotenv_syntax.parse_variables("${A:-d}-x")] == [
        type(a).__name__ for a in dotenv.variables.parse_variables("${A:-d}-x")
    ]


def run_python(code: str, *flags: str) -> str:
    completed = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def test_the_dotenv_package_stays_unimported_and_a_later_import_of_it_is_ordinary() -> None:
    code = (
        "import io, sys\n"
        "from calitho_env.core import dotenv_syntax\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dotenv'))\n"
        "import dotenv, dotenv.parser\n"
        "print(dict(dotenv.dotenv_values(stream=io.StringIO('A=1\\nB=${A}2\\n'))))\n"
        "print(dotenv.parser.parse_stream is not dotenv_syntax.parse_stream)\n"
    )
    assert run_python(code).splitlines() == ["[]", "{'A': '1', 'B': '12'}", "True"]


def test_an_importer_that_is_not_the_file_system_gets_the_ordinary_import() -> None:
    # Like a frozen application (PyInstaller): python-dotenv is served from memory, not found on a path.
    dotenv_folder = Path(dotenv.parser.__file__).parent
    code = f"""
import importlib.abc, importlib.util, io, sys
SOURCES = {{name: open({str(dotenv_folder)!r} + '/' + file).read() for name, file in
           [('dotenv', '__init__.py'), ('dotenv.main', 'main.py'), ('dotenv.parser', 'parser.py'),
            ('dotenv.variables', 'variables.py')]}}

class FromMemory(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name in SOURCES:
            return importlib.util.spec_from_loader(name, self, is_package=name == 'dotenv')
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        if module.__name__ == 'dotenv':
            module.__path__ = []
        exec(SOURCES[module.__name__], module.__dict__)

sys.meta_path.insert(0, FromMemory())
sys.path.insert(0, {str(ROOT)!r})
from calitho_env.core import dotenv_syntax
print(dotenv_syntax.parse_stream.__module__, sys.modules['dotenv.parser'].__loader__.__class__.__name__)
print([b.key for b in dotenv_syntax.parse_stream(io.StringIO('A=1\\nB=2\\n'))])
"""
    assert run_python(code, "-S").splitlines() == ["dotenv.parser FromMemory", "['A', 'B']"]
