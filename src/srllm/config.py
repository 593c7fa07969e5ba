"""Config dataclasses from a YAML file and keyword values: the one loader of every srllm config (`SftConfig`,
`DetectorTrainConfig`, `EvalConfig`, `RewriteConfig`, ...).

    cfg = load_config(SftConfig, "configs/sft-smollm2-lora.yaml", lora_r=16)   # keyword values win over the file

An unknown key is an error that names the file and the closest field; every value is checked against the field's
type ("c.yaml: lora_r: expected an integer, got 'four'"); the dataclass's `__post_init__` does the rest. The CLI
builds its options from the same fields (srllm.cli.options.options_from).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from srllm.errors import SrllmConfigError

__all__ = ["load_config", "read_config_file", "coerce", "field_types", "config_field"]

T = TypeVar("T")


def config_field(help: str, **kw) -> Any:
    """A dataclass field that carries its help text (the CLI option's help, srllm.cli.options)."""
    return dataclasses.field(metadata={"help": help}, **kw)


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def read_config_file(cls: type, path: str | Path) -> dict[str, Any]:
    """The fields a YAML file sets, type-checked; keys may spell '-' for '_' (as the flags do)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise SrllmConfigError(f"config file {p} does not exist")
    try:
        loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise SrllmConfigError(f"{p}: not valid YAML: {e}") from e
    if not isinstance(loaded, dict):
        raise SrllmConfigError(f"{p}: expected a mapping of option: value, got {type(loaded).__name__}")
    types_ = field_types(cls)
    values = {}
    for key, value in loaded.items():
        name = str(key).replace("-", "_")
        if name not in types_:
            close = difflib.get_close_matches(name, list(types_), n=1)  # one name, quoted: the key to write
            hint = f"did you mean '{close[0]}'?" if close else f"the keys of {cls.__name__}: {', '.join(types_)}"
            raise SrllmConfigError(f"{p}: unknown key '{key}'; {hint}")
        values[name] = coerce(value, types_[name], f"{p}: {key}")
    return values


def load_config(cls: type[T], path: str | Path | None = None, /, **overrides: Any) -> T:
    """`cls` from the YAML file `path` (optional) with `overrides` on top; None overrides are ignored."""
    values = read_config_file(cls, path) if path is not None else {}
    types_ = field_types(cls)
    for name, value in overrides.items():
        if name not in types_:
            raise SrllmConfigError(f"{cls.__name__} has no field '{name}'")
        if value is not None:
            values[name] = coerce(value, types_[name], name)
    try:
        return cls(**values)
    except TypeError as e:
        raise SrllmConfigError(f"bad {cls.__name__} value: {e}") from e


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return f"a list of {_describe(typing.get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _is_sequence(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, tuple)


def coerce(value: Any, tp: Any, where: str, *, text: bool = False) -> Any:
    """`value` as the type `tp`, or an error naming `where`. A list or tuple also takes a comma-separated string;
    `text=True` (a value from a command line or such a string) also parses numbers and booleans from strings."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)

    def bad() -> SrllmConfigError:
        return SrllmConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")

    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None and len(inner) < len(args):
            return None
        if isinstance(value, str) and not value.strip() and len(inner) < len(args) and any(map(_is_sequence, inner)):
            return None  # an empty list flag ('--x ""') means "not set"
        for a in inner:
            try:
                return coerce(value, a, where, text=text)
            except SrllmConfigError:
                pass
        raise bad()
    if value is None:
        raise bad()
    if tp is bool:
        if isinstance(value, bool):
            return value
        if text and isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise bad()
    if tp in (int, float):
        if isinstance(value, tp if tp is int else (int, float)) and not isinstance(value, bool):
            return tp(value)
        if isinstance(value, str) and (text or tp is float):  # PyYAML reads 5e-4 (no dot) as a string
            try:
                return tp(value.strip())
            except ValueError:
                raise bad() from None
        raise bad()
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad()
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise bad()
    if origin in (list, tuple):
        elem = args[0] if args else Any
        if isinstance(value, str):
            items, text = ([value] if elem is Path else [x.strip() for x in value.split(",") if x.strip()]), True
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise bad()
        out = [coerce(x, elem, f"{where}[{i}]", text=text) for i, x in enumerate(items)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad()
        key_tp, val_tp = args or (Any, Any)
        return {coerce(k, key_tp, where, text=text): coerce(v, val_tp, f"{where}.{k}", text=text)
                for k, v in value.items()}
    return value
