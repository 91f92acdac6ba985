"""python-dotenv's parser and `${VAR}` interpolation, loaded without the rest of python-dotenv.

`import dotenv.parser` first runs dotenv/__init__.py, which imports dotenv.main and with it logging,
tempfile, shutil and random, for loading and writing files we never ask it to do, on every launch.
Both modules import only the standard library, so we load them from the installed package directly.
They are not put in sys.modules: a later `import dotenv` gets its own, ordinary copies.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
from types import ModuleType
from typing import TYPE_CHECKING


def _load_alone(name: str) -> ModuleType:
    package = importlib.util.find_spec("dotenv")  # finds the package without running its __init__
    spec = None
    if package is not None and package.submodule_search_locations is not None:
        spec = importlib.machinery.PathFinder.find_spec(name, list(package.submodule_search_locations))
    if spec is None or spec.loader is None:
        return importlib.import_module(name)  # an install we do not recognise: the ordinary way
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from dotenv.parser import parse_stream as parse_stream
    from dotenv.variables import parse_variables as parse_variables
else:
    parse_stream = _load_alone("dotenv.parser").parse_stream
    parse_variables = _load_alone("dotenv.variables").parse_variables
