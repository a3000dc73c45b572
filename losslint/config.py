"""``[tool.losslint]`` configuration: found, read, validated. Bad keys are errors, never silence."""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from losslint.diagnostic import Severity
from losslint.discover import DEFAULT_EXCLUDE
from losslint.pages import known_codes
from losslint.target import infer_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

_CODE_PREFIX: Final = re.compile(r"^(ALL|LL\d{0,3}|RT\d{0,3})$")
_KEYS: Final = frozenset(
    {
        "select",
        "ignore",
        "extend-select",
        "per-file-ignores",
        "exclude",
        "extend-exclude",
        "fail-on",
        "target-keras",
        "runtime",
    }
)
FAIL_ON_CHOICES: Final = ("error", "warning", "info", "never")
BACKEND_CHOICES: Final = ("tensorflow", "jax", "torch")
DEVICE_CHOICES: Final = ("auto", "cpu", "gpu")
_RUNTIME_KEYS: Final = frozenset(
    {"backend", "device", "timeout", "batch-size", "units", "memory-limit"}
)


class ConfigError(Exception):
    """A configuration problem, reported in one line with exit code 2."""


@dataclass(frozen=True)
class RuntimeSettings:
    """``[tool.losslint.runtime]``: how ``check --runtime`` runs the losses it finds."""

    backend: str = "tensorflow"  # one of BACKEND_CHOICES
    device: str = "auto"  # one of DEVICE_CHOICES
    timeout: float = 60.0  # seconds for one module's import, and for one loss's checks
    batch_size: int = 8  # rows of the sample tensors
    units: int = 4  # last-axis size when the loss's model output is unknown
    # MiB of heap the child may take (RLIMIT_DATA); 0: no limit. Keras with TensorFlow takes
    # about 300 MiB of it; a loss on sample tensors, a few more.
    memory_limit: int = 4096


@dataclass(frozen=True)
class Config:
    root: Path = field(default_factory=Path.cwd)
    source: str | None = None  # the file it was read from
    select: tuple[str, ...] = ("LL", "RT")  # RT rules run only with --runtime
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    fail_on: Severity | None = Severity.WARNING  # None: never fail
    target_keras: int = 3
    target_reason: str = ""  # why target_keras has its value ("" = the default)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)

    @property
    def selected(self) -> tuple[str, ...]:
        return _expand(self.select + self.extend_select)

    @property
    def ignored(self) -> tuple[str, ...]:
        return _expand(self.ignore)

    @property
    def all_excludes(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _expand(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("" if c == "ALL" else c for c in codes)


def find_config(start: Path) -> Path | None:
    """The nearest ``losslint.toml``, or ``pyproject.toml`` with a ``[tool.losslint]`` table."""
    for directory in [start, *start.parents]:
        found = config_in(directory)
        if found is not None:
            return found
    return None


def config_in(directory: Path) -> Path | None:
    """The configuration file in ``directory`` itself, if it has one."""
    candidate = directory / "losslint.toml"
    if candidate.is_file():
        return candidate
    candidate = directory / "pyproject.toml"
    if candidate.is_file():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return candidate  # let load_config report it
        if "losslint" in data.get("tool", {}):
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("losslint", {})
        where = f"[tool.losslint] in {path}"
    else:
        table = data.get("tool", {}).get("losslint", data)
        where = str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    return parse_table(table, path.parent.resolve(), where, str(path))


def parse_table(table: dict[str, Any], root: Path, where: str, source: str | None) -> Config:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {where} (known keys: {', '.join(sorted(_KEYS))})"
        )
    config = Config(root=root, source=source)
    changes: dict[str, Any] = {}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            changes[key.replace("-", "_")] = tuple(_codes(table[key], key, where))
    for key in ("exclude", "extend-exclude"):
        if key in table:
            changes[key.replace("-", "_")] = tuple(_strings(table[key], key, where))
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise ConfigError(f"'per-file-ignores' in {where} must be a table of pattern = [codes]")
        changes["per_file_ignores"] = tuple(
            (pattern, tuple(_codes(codes, f"per-file-ignores.{pattern}", where)))
            for pattern, codes in value.items()
        )
    if "fail-on" in table:
        changes["fail_on"] = parse_fail_on(table["fail-on"], f"'fail-on' in {where}")
    if "target-keras" in table:
        value = table["target-keras"]
        if value not in (2, 3) or isinstance(value, bool):
            raise ConfigError(f"'target-keras' in {where} must be 2 or 3, got {value!r}")
        changes["target_keras"] = value
        changes["target_reason"] = f"target-keras = {value} in {where}"
    if "runtime" in table:
        changes["runtime"] = _runtime(table["runtime"], where)
    return replace(config, **changes)


def _runtime(table: object, where: str) -> RuntimeSettings:
    inner = where.replace("[tool.losslint]", "[tool.losslint.runtime]", 1)
    if inner == where:
        inner = f"[runtime] in {where}"
    if not isinstance(table, dict):
        raise ConfigError(f"'runtime' in {where} must be a table, got {table!r}")
    unknown = sorted(set(table) - _RUNTIME_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {inner} "
            f"(known keys: {', '.join(sorted(_RUNTIME_KEYS))})"
        )
    settings = RuntimeSettings()
    changes: dict[str, Any] = {}
    for key, choices in (("backend", BACKEND_CHOICES), ("device", DEVICE_CHOICES)):
        if key in table:
            if table[key] not in choices:
                raise ConfigError(
                    f"{key!r} in {inner} must be one of {', '.join(choices)}, got {table[key]!r}"
                )
            changes[key] = table[key]
    if "timeout" in table:
        value = table["timeout"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
            raise ConfigError(
                f"'timeout' in {inner} must be a positive number of seconds, got {value!r}"
            )
        changes["timeout"] = float(value)
    for key, lowest in (("batch-size", 2), ("units", 1)):
        if key in table:
            value = table[key]
            if type(value) is not int or not lowest <= value <= 4096:
                raise ConfigError(
                    f"{key!r} in {inner} must be an integer from {lowest} to 4096, got {value!r}"
                )
            changes[key.replace("-", "_")] = value
    if "memory-limit" in table:
        value = table["memory-limit"]
        if type(value) is not int or not 0 <= value <= 1 << 30:
            raise ConfigError(
                f"'memory-limit' in {inner} must be a whole number of MiB (0: no limit), "
                f"got {value!r}"
            )
        changes["memory_limit"] = value
    return replace(settings, **changes)


def parse_fail_on(value: object, what: str) -> Severity | None:
    if value not in FAIL_ON_CHOICES:
        raise ConfigError(f"{what} must be one of {', '.join(FAIL_ON_CHOICES)}, got {value!r}")
    assert isinstance(value, str)
    return None if value == "never" else Severity.parse(value)


def parse_codes(texts: str | tuple[str, ...], what: str) -> tuple[str, ...]:
    """Comma-separated rule codes or prefixes from the command line; a repeated option adds up
    (``--select LL1 --select LL3``), as with Ruff."""
    if isinstance(texts, str):
        texts = (texts,)
    items = [c.strip() for text in texts for c in text.split(",") if c.strip()]
    return tuple(_codes(items, what, "the command line"))


def _codes(value: object, key: str, where: str) -> list[str]:
    items = _strings(value, key, where)
    known = known_codes()
    for item in items:
        if not _CODE_PREFIX.match(item):
            raise ConfigError(
                f"{key!r} in {where}: {item!r} is not a rule code or prefix (like LL3, LL30, LL301)"
                + _did_you_mean(item, known)
            )
        # A prefix that selects nothing is a typo that would switch the gate off in silence.
        if known and item != "ALL" and not any(code.startswith(item) for code in known):
            raise ConfigError(
                f"{key!r} in {where}: unknown rule selector {item!r}, no rule code starts with it"
                + _did_you_mean(item, known)
            )
    return items


def _did_you_mean(item: str, known: frozenset[str]) -> str:
    """The nearest code or family prefix (LL3, LL30) to a mistyped selector."""
    candidates = sorted(known | {c[:n] for c in known for n in (3, 4)})
    close = difflib.get_close_matches(item.upper().replace("O", "0"), candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else " (`losslint rules` lists them)"


def _strings(value: object, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key!r} in {where} must be a list of strings, got {value!r}")
    return value


def with_inferred_target(config: Config, start: Path) -> Config:
    """The target Keras from the project's dependency pins when the configuration has none."""
    if config.target_reason:
        return config
    for root in (config.root, start):
        found = infer_target(root)
        if found is not None:
            return replace(config, target_keras=found[0], target_reason=found[1])
    return config
