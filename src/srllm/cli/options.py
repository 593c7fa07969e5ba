"""Typer options built from a config dataclass, so a command's flags and its config never drift.

    @app.command("eval")
    @friendly_errors
    @options_from(EvalConfig, flags={"suites": Flag("--suite", "-s")})
    def eval_command(compare: ... = typer.Option(...), config: EvalConfig = None): ...

The parameter named `into` ("config") is replaced, where it stands, by one option per field (name, type, default and
help from the field) and `--config FILE.yaml`; the command receives the built dataclass. Flags given on the command
line (or through an envvar) win over the file; the file and the flags go through srllm.config.load_config (unknown
key -> error with a "did you mean" hint; values type-checked).

Fields become: bool -> --flag/--no-flag; int, float, str, Path -> a typed option; list/tuple -> one comma-separated
value `<str,...>` (of paths: a repeatable option); dict -> a repeatable KEY=VALUE option. Optional types take the inner
type; the help shows the field's default.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from srllm.config import coerce, field_types, load_config
from srllm.errors import SrllmConfigError

__all__ = ["Flag", "options_from"]


class Flag:
    """How one field appears on the command line where the default (`--field-name`, the field's help) does not fit:
    `Flag("--suite", "-s")`, `Flag("--keep-group-terms/--delete-group-terms")`, `Flag(metavar="SUITE=N")`."""

    def __init__(self, *decls: str, help: str | None = None, metavar: str | None = None, envvar: str | None = None,
                 show_default: bool = True):
        self.decls, self.help, self.metavar, self.envvar = decls, help, metavar, envvar
        self.show_default = show_default


@dataclasses.dataclass
class _Field:
    name: str
    tp: Any  # the field's type
    form: str  # "scalar", "bool", "comma", "repeat", "pairs"
    flag: str  # the first declaration, e.g. "--limit-for"
    metavar: str | None


_TYPE_NAMES = {int: "int", float: "float", str: "str", Path: "path"}


def _inner(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _option(f: dataclasses.Field, tp: Any, spec: Flag, panel: str | None) -> tuple[inspect.Parameter, _Field]:
    """The typer parameter of one field, and how to read its value back."""
    inner, default = _inner(tp), _default(f)
    origin = typing.get_origin(inner)
    name = "--" + f.name.replace("_", "-")
    help_text = spec.help if spec.help is not None else f.metadata.get("help", "")
    metavar = spec.metavar
    if inner is bool:
        form, ann, decls, shown = "bool", bool, spec.decls or (f"{name}/--no-{name[2:]}",), default
    elif origin in (list, tuple) and typing.get_args(inner)[:1] == (Path,):
        form, ann, decls, shown = "repeat", list[Path], spec.decls or (name,), list(default or [])
        metavar = metavar or "<path>"
        help_text += "" if "repeat" in help_text.lower() else " Repeatable."
    elif origin in (list, tuple):
        form, ann, decls = "comma", str, spec.decls or (name,)
        shown = ",".join(map(str, default)) if default is not None else None
        metavar = metavar or f"<{_TYPE_NAMES.get(typing.get_args(inner)[0], 'str')},...>"
    elif origin is dict:
        form, ann, decls = "pairs", list[str], spec.decls or (name,)
        shown = [f"{k}={v}" for k, v in (default or {}).items()]
        metavar = metavar or "KEY=VALUE"
        help_text += "" if "repeat" in help_text.lower() else " Repeatable."
    elif inner in (int, float, str, Path):
        form, ann, decls, shown = "scalar", inner, spec.decls or (name,), default
    else:
        raise TypeError(f"options_from: no command-line form for {f.name}: {tp}")
    option = typer.Option(shown, *decls, help=escape(help_text), metavar=metavar, envvar=spec.envvar,
                          show_default=spec.show_default, rich_help_panel=panel)
    param = inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                              annotation=ann if shown is not None else ann | None)
    return param, _Field(f.name, tp, form, decls[0].split("/")[0], metavar)


def _from_command_line(field: _Field, value: Any) -> Any:
    """A flag's value as the field's type."""
    if field.form == "pairs":
        pairs = {}
        for item in value:
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                raise SrllmConfigError(f"{field.flag} {item!r}: expected {field.metavar}")
            try:
                pairs[key.strip()] = coerce(val.strip(), typing.get_args(_inner(field.tp))[1], field.flag, text=True)
            except SrllmConfigError:
                raise SrllmConfigError(f"{field.flag} {item!r}: expected {field.metavar}") from None
        return pairs
    return coerce(value, field.tp, field.flag, text=True)


def _given(ctx: typer.Context | None, name: str, value: Any, default: Any) -> bool:
    """True when the user set this option (on the command line or through its envvar), not its default."""
    if ctx is None:  # called without typer
        return value != default
    return ctx.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")


def options_from(cls: type, *, into: str = "config", exclude: Sequence[str] = (), flags: dict[str, Flag] | None = None,
                 panel: str | None = None, config_help: str | None = None) -> Callable[[Callable], Callable]:
    """Decorator: replace the command's parameter `into` by an option per field of the dataclass `cls` (but
    `exclude`d ones, which a YAML file may still set) and `--config/-c FILE.yaml`; pass the built `cls` as `into`.
    `flags` respells fields (see Flag); `panel` groups the options under a heading of the help."""
    flags = flags or {}
    unknown = set(flags) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"options_from({cls.__name__}): flags for unknown fields {sorted(unknown)}")
    types_ = field_types(cls)
    built = [_option(f, types_[f.name], flags.get(f.name, Flag()), panel)
             for f in dataclasses.fields(cls) if f.name not in exclude]
    config_param = inspect.Parameter(
        "config_file", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
        default=typer.Option(None, "--config", "-c", rich_help_panel=panel, metavar="FILE.yaml", help=config_help or
                             f"YAML file of these options (keys: the field names of {cls.__name__}); flags given here "
                             "win, an unknown key is an error."))

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        if into not in sig.parameters:
            raise TypeError(f"options_from: {fn.__name__} has no parameter '{into}' to receive the {cls.__name__}")
        clash = {p.name for p, _ in built} & (set(sig.parameters) | {"config_file"})
        if clash:
            raise TypeError(f"options_from: {fn.__name__} already has parameters {sorted(clash)}")
        params = [inspect.Parameter("_srllm_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context,
                                    default=None)]
        for p in sig.parameters.values():
            if p.name == into:
                params += [config_param, *(param for param, _ in built)]
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(fn)
        def command(**kwargs):
            ctx, path = kwargs.pop("_srllm_ctx", None), kwargs.pop("config_file")
            given = {}
            for param, field in built:
                value = kwargs.pop(field.name)
                if _given(ctx, field.name, value, param.default.default):
                    given[field.name] = _from_command_line(field, value)
            return fn(**kwargs, **{into: load_config(cls, path, **given)})

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
