"""The one registry: lazy entries, precedence, freeze, and one code digest for every kind."""

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from composer.benchmarks.loaders import BENCHMARKS
from composer.core.errors import ConfigError, UnknownNameError
from composer.core.registry import Registry, code_digest, source_digest
from composer.evaluation.judges import get_method
from composer.graphs.base import GRAPHS, get_graph


def module_from(tmp_path: Path, name: str, source: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_entries_of_every_kind_get_one_digest_format(tmp_path: Path) -> None:
    (tmp_path / "strategy.py").write_text(
        "import composer.graphs as cg\n\n"
        '@cg.register_graph("from-a-file", axes=(cg.Axis.UEG,))\n'
        "def build(axis, options):\n    raise AssertionError('never built')\n"
    )
    (tmp_path / "judge.py").write_text("async def judge(model, image, checks, options):\n    ...\n")
    (tmp_path / "bench.py").write_text("def load(config, images, run_dir):\n    return []\n")

    graph = get_graph("strategy.py:build", base_dir=tmp_path)
    method = get_method("judge.py:judge", base_dir=tmp_path)
    bench = BENCHMARKS.resolve("bench.py:load", base_dir=tmp_path)
    # Before, a judge file was versioned by 16 hex digits, a strategy file by "sha256:" + 64.
    assert graph.code == sha256_of(tmp_path / "strategy.py")
    assert method.version == sha256_of(tmp_path / "judge.py")
    assert bench.code == sha256_of(tmp_path / "bench.py") and bench.origin == "file"
    assert GRAPHS.resolve("strategy.py:build", base_dir=tmp_path).code == graph.code
    assert "from-a-file" not in GRAPHS.names()  # a file is bound by its path, not its name


def test_composer_entries_keep_the_builtin_digest() -> None:
    # Existing run folders store `builtin` for composer's graphs: they resume without --rerun.
    assert get_graph("direct").code == "builtin"
    assert GRAPHS.resolve("refine").origin == "composer"
    assert get_method("realunify-polling").version != "builtin"  # its declared version stays


def test_a_lazy_entry_is_imported_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "composer_lazy_probe.py").write_text("def thing():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    things: Registry[object] = Registry(
        "thing", group="composer.tests.none", where="thing {!r}", define="thing()",
        builtins={"probe": "composer_lazy_probe:thing"},
    )  # fmt: skip
    assert things.names() == ["probe"]
    assert "composer_lazy_probe" not in sys.modules
    found = things.resolve("probe")
    assert found.value is sys.modules["composer_lazy_probe"].thing
    assert found.code.startswith("sha256:") and found.origin == "composer"
    # A run file may name an importable `module:attr` directly, digested the same way.
    direct = things.resolve("composer_lazy_probe:thing")
    assert (direct.value, direct.code, direct.origin) == (found.value, found.code, "module")
    with pytest.raises(UnknownNameError, match="the module 'composer_no_such_probe'"):
        things.get("composer_no_such_probe:thing")


def test_registration_outranks_a_builtin_until_frozen() -> None:
    things: Registry[object] = Registry(
        "thing", group="composer.tests.none", where="thing {!r}", define="thing()",
        hint="path/to/thing.py:thing", builtins={"probe": "composer.core.registry:code_digest"},
    )  # fmt: skip
    things.register("probe", source_digest)
    assert things.get("probe") is source_digest
    things.unregister("probe")
    assert things.get("probe") is code_digest
    with pytest.raises(UnknownNameError) as error:
        things.get("prob")
    assert str(error.value) == (
        "thing 'prob': is not registered. Known things: probe; or give 'path/to/thing.py:thing'."
    )
    things.freeze()
    with pytest.raises(ConfigError, match="thing 'late': cannot be registered: .* frozen"):
        things.register("late", "somewhere:late")
    assert things.get("probe") is code_digest  # a frozen registry still resolves


def test_the_source_digest_follows_what_build_uses_in_its_module(tmp_path: Path) -> None:
    source = """
        import functools

        SHAPE = "a red circle"
        NOTE = "not used by the strategy"

        def traced(fn):
            @functools.wraps(fn)
            async def wrapper(state, runtime):
                return await fn(state, runtime)
            return wrapper

        @traced
        async def draw(state, runtime):
            return {"image": SHAPE}

        def unrelated():
            return NOTE

        def build(axis, options):
            nodes = {"draw": draw}
            return lambda: nodes
    """
    digests = {}
    edits = {
        "as written": ("", ""),
        "a node's body": ('"image": SHAPE', '"image": SHAPE + "!"'),
        "a constant a node reads": ('"a red circle"', '"a blue square"'),
        "an unrelated function": ("return NOTE", "return NOTE * 2"),
        "an unused setting": ("not used by", "still not used by"),
    }
    for n, (label, (old, new)) in enumerate(edits.items()):
        module = module_from(tmp_path, f"composer_digest_probe_{n}", source.replace(old, new))
        digests[label] = source_digest(module.build)
        assert code_digest(module.build) == "sha256:" + digests[label]
    assert digests["a node's body"] != digests["as written"]
    assert digests["a constant a node reads"] != digests["as written"]
    assert digests["an unrelated function"] == digests["as written"]
    assert digests["an unused setting"] == digests["as written"]


def test_the_digest_of_code_without_source_is_the_same_in_every_process() -> None:
    # Typed at a prompt: no source to read, so the compiled code is hashed, with its constants
    # (a set's order follows string hashing, which differs per process).
    program = (
        "from composer.core.registry import code_digest\n"
        "SHAPES = frozenset({'circle', 'square', 'star', 'moon'})\n"
        "def build(axis, options):\n"
        "    return [s for s in SHAPES if s in {'circle', 'star', 'sun'}]\n"
        "print(code_digest(build))\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-"],
            input=program,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1 and next(iter(digests)).startswith("sha256:")


def test_the_source_digest_follows_a_helper_file_beside_the_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    cell = """
        import json
        import composer_probe_nodes as nodes

        def build(axis, options):
            return [nodes.draw, json.dumps]
    """
    digests = []
    for n, shape in enumerate(("a red circle", "a blue square", "a blue square")):
        (tmp_path / "composer_probe_nodes.py").write_text(
            f"async def draw(state, runtime):\n    return {{'image': {shape!r}}}\n"
        )
        sys.modules.pop("composer_probe_nodes", None)  # the notebook's kernel restarted
        importlib.invalidate_caches()
        digests.append(source_digest(module_from(tmp_path, f"composer_probe_cell_{n}", cell).build))
    assert digests[0] != digests[1]  # the node in the helper file changed
    assert digests[1] == digests[2]


def test_a_strategy_file_imports_a_helper_beside_it_and_its_digest_follows_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the file's folder is added to it
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "strategy.py").write_text(
        "import composer.graphs as cg\n"
        "from composer_probe_shapes import SHAPE\n\n"
        '@cg.register_graph("uses-a-helper", axes=(cg.Axis.UEG,))\n'
        "def build(axis, options):\n    raise AssertionError(SHAPE)\n"
    )
    (folder / "unrelated.py").write_text("X = 1\n")  # beside it, not imported: not counted
    digests = []
    for shape in ("a red circle", "a blue square", "a blue square"):
        (folder / "composer_probe_shapes.py").write_text(f"SHAPE = {shape!r}\n")
        sys.modules.pop("composer_probe_shapes", None)  # a new process imports it afresh
        importlib.invalidate_caches()
        # It failed: "No module named 'composer_probe_shapes'" (its folder was not on the path).
        digests.append(get_graph("strategies/strategy.py:build", base_dir=tmp_path).code)
    (folder / "unrelated.py").write_text("X = 2\n")
    digests.append(get_graph("strategies/strategy.py:build", base_dir=tmp_path).code)
    sys.modules.pop("composer_probe_shapes", None)
    assert digests[0] != digests[1]  # an edit to the helper is a new version of the strategy
    assert digests[1] == digests[2] == digests[3] != sha256_of(folder / "strategy.py")
