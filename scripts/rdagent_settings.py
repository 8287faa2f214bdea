"""What the installed `rdagent` package reads, printed as JSON. Runs inside the rdagent virtualenv
(.tools/rdagent, `make rdagent-venv`), never in the project's own: it imports RD-Agent.

- settings: every environment variable a pydantic-settings class of RD-Agent reads, found by
  importing each module of the package that defines settings and asking pydantic-settings itself
  (the sources each class really builds, including RD-Agent's parent-class sources) for the names;
- direct: names RD-Agent reads with os.environ / os.getenv outside its settings classes;
- loguru: the LOGURU_* variables loguru reads at import (RD-Agent logs with loguru);
- litellm: the provider keys and bases LiteLLM (RD-Agent's default backend) reads;
- kaggle: what Kaggle's client reads (kagglesdk; data_science downloads competitions with it);
- native: variables read by the native libraries in the environment (OpenMP's OMP_NUM_THREADS);
- streamlit: the STREAMLIT_* variables of every Streamlit config option (`rdagent ui` is a Streamlit
  app), from Streamlit's own option table;
- cli: the options of every `rdagent` command, from the Typer application itself.

Usage: .tools/rdagent/bin/python scripts/rdagent_settings.py > settings.json
       .tools/rdagent/bin/python scripts/rdagent_settings.py --snapshot > rdagent_infra/logic/rdagent-reads.json
       (the snapshot the program validates config against: the version, the settings' names, the CLI)
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ENV_CALL = re.compile(r"(?:os\.environ\.get|os\.getenv|os\.environ\[|get_secret_str|get_secret|environ\.get)\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']")
ENV_SUBSCRIPT = re.compile(r"os\.environ\[\s*[\"']([A-Z][A-Z0-9_]+)[\"']\s*\]")
NATIVE_NAMES = (b"OMP_NUM_THREADS",)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def settings_modules(root: Path, package: str) -> list[str]:
    """Modules that define a class (so possibly a settings class): found by parsing, not importing."""
    modules = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "Settings" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        if any(isinstance(node, ast.ClassDef) for node in tree.body):
            relative = path.relative_to(root).with_suffix("")
            parts = [package, *relative.parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules.append(".".join(parts))
    return modules


def all_subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def env_names_of(settings_cls) -> list[str]:
    """The environment variables the sources of `settings_cls` look up, as pydantic-settings names them."""
    from pydantic_settings import BaseSettings, EnvSettingsSource
    from pydantic_settings.sources import InitSettingsSource

    init = InitSettingsSource(settings_cls, init_kwargs={})
    env = EnvSettingsSource(settings_cls)
    sources = settings_cls.settings_customise_sources(settings_cls, init, env, env, env)
    names: list[str] = []
    for source in sources:
        if not isinstance(source, EnvSettingsSource):
            continue
        owner: type[BaseSettings] = source.settings_cls
        for field_name, field in owner.model_fields.items():
            for _, env_name, _ in source._extract_field_info(field, field_name):
                name = env_name.upper()
                if name not in names:
                    names.append(name)
    return names


def rdagent_settings() -> tuple[dict[str, list[str]], list[str]]:
    from pydantic_settings import BaseSettings

    failures = []
    root = package_dir("rdagent")
    for module in settings_modules(root, "rdagent"):
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - reported, and the caller decides
            failures.append(f"{module}: {type(exc).__name__}: {exc}")
    by_name: dict[str, list[str]] = {}
    for cls in all_subclasses(BaseSettings):
        if not cls.__module__.startswith("rdagent."):
            continue
        for name in env_names_of(cls):
            by_name.setdefault(name, []).append(f"{cls.__module__}.{cls.__qualname__}")
    return {name: sorted(owners) for name, owners in sorted(by_name.items())}, failures


def literal_env_reads(root: Path) -> list[str]:
    names: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8", errors="replace")
        names.update(ENV_CALL.findall(text))
        names.update(ENV_SUBSCRIPT.findall(text))
    return sorted(names)


def loguru_env() -> list[str]:
    text = (package_dir("loguru") / "_defaults.py").read_text()
    return sorted(set(re.findall(r"env\(\s*\"(LOGURU_[A-Z_]+)\"", text)))


def native_env() -> dict[str, list[str]]:
    """Which shared objects of the environment contain each name (OpenMP runtimes read OMP_NUM_THREADS)."""
    found: dict[str, list[str]] = {}
    site = Path(sys.prefix) / "lib"
    for path in site.rglob("*.so*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for name in NATIVE_NAMES:
            if name in data:
                found.setdefault(name.decode(), []).append(path.name)
    return {name: sorted(set(files))[:5] for name, files in found.items()}


def streamlit_env() -> list[str]:
    from streamlit import config

    return sorted(option.env_var for option in config._config_options_template.values())


def cli_options() -> dict[str, list[str]]:
    import typer

    with contextlib.redirect_stdout(io.StringIO()):
        from rdagent.app.cli import app
    group = typer.main.get_command(app)
    commands: dict[str, list[str]] = {}
    for name, command in sorted(group.commands.items()):
        options = []
        for param in command.params:
            # Typer may carry its own copy of click: ask the parameter what it is.
            if param.param_type_name == "option":
                options += [*param.opts, *param.secondary_opts]
            else:
                options.append(f"<{param.name}>")
        commands[name] = options
    return commands


def snapshot(report: dict) -> dict:
    return {"version": report["version"], "settings": sorted(report["settings"]), "cli": report["cli"]}


def main() -> None:
    as_snapshot = "--snapshot" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as cwd:
        # RD-Agent's settings default to folders under the working directory; keep them out of the repo.
        os.chdir(cwd)
        sys.argv = [sys.argv[0]]
        settings, failures = rdagent_settings()
        report = {
            "version": importlib.metadata.version("rdagent"),
            "settings": settings,
            "import_failures": failures,
            "direct": literal_env_reads(package_dir("rdagent")),
            "loguru": loguru_env(),
            "litellm": literal_env_reads(package_dir("litellm")),
            "kaggle": literal_env_reads(package_dir("kagglesdk")),
            "native": native_env(),
            "streamlit": streamlit_env(),
            "cli": cli_options(),
        }
    json.dump(snapshot(report) if as_snapshot else report, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
