"""servicekit's own layout rules: no import cycle between its modules, domain errors free of
Flask, and environment variables read in config modules only."""
import ast
from pathlib import Path

import servicekit.api

PACKAGE = Path(servicekit.api.__file__).parent


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The servicekit modules `path` imports at module level or inside functions."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        imported |= {name for name in names if name in known}
    return imported


def test_servicekit_modules_import_each_other_without_a_cycle():
    known = modules()
    graph = {name: imports_of(path, set(known)) - {name} for name, path in known.items()}
    # A package's __init__ re-exporting its modules is not a cycle of theirs.
    graph = {name: {d for d in deps if not name.startswith(d + ".")} for name, deps in graph.items()}
    visiting, done, cycles = set(), set(), []

    def visit(name, trail):
        if name in visiting:
            cycles.append(trail[trail.index(name):] + [name])
            return
        if name in done:
            return
        visiting.add(name)
        for dependency in sorted(graph[name]):
            visit(dependency, trail + [name])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert cycles == []


def test_domain_errors_import_nothing_from_flask():
    assert not {name for name in imports_of(PACKAGE / "errors.py", {"flask", "werkzeug"})}
    source = (PACKAGE / "errors.py").read_text()
    assert "flask" not in source and "werkzeug" not in source


def test_the_environment_is_read_only_in_config_modules():
    readers = {name for name, path in modules().items() if "os.environ" in path.read_text()
               or "getenv" in path.read_text()}
    assert readers <= {"servicekit.config", "servicekit.testing.config"}
