"""How params.yaml is read and checked, whatever its sections hold: the machinery under params.py.

- Reading: :func:`parse_yaml` parses as DVC parses the file; :func:`load_params` reads it into a dict.
- What a field expects: an :class:`Expect` in the field's ``Annotated``, written once next to its
  type; :func:`refuse_unless` adds a check after the type; a :class:`Section` is a mapping of the
  file (unknown keys refused, frozen once checked).
- The one line: :func:`one_line` translates pydantic's first refusal into the line every refusal
  reads (key path, value, what was expected; pydantic's own text never reaches the user), and
  :func:`validate` raises it. A setting a run inherits is named where it is written,
  ``defaults.<key> (in run <run>)``; the model says what its fields read
  (:meth:`Section.as_read`: a run overlaid on ``defaults``).

The models of the file and the entry points every stage calls are in :mod:`mnist_report.config.params`.
"""

from __future__ import annotations

import reprlib
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mnist_report.common.errors import PipelineError

PARAMS_FILE = Path("params.yaml")


# --- reading the file ------------------------------------------------------------------------------

def parse_yaml(text: str) -> Any:
    """Returns ``text`` parsed exactly as DVC parses ``params.yaml``: ruamel.yaml's ``typ="safe"``
    loader (YAML 1.2), the one ``dvc.utils.serialize.parse_yaml`` uses for ``dvc status``, ``dvc params
    diff`` and the ``${...}`` of dvc.yaml. So ``5e-2`` is 0.05, ``on``/``yes`` are strings, ``0o17`` is
    15 and ``1_000`` is 1000 here as there, and a duplicate key is refused by both (PyYAML, YAML 1.1,
    reads each of these differently)."""
    return YAML(typ="safe").load(text)


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Returns the parsed ``params.yaml`` as a dict (parsed as DVC parses it: :func:`parse_yaml`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PipelineError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from error
    try:
        params = parse_yaml(text)
    except YAMLError as error:
        # ruamel appends a pointer to its documentation on how to turn a check off: not ours to offer.
        message = str(error).split("To suppress this check")[0]
        raise PipelineError(f"{path}: not valid YAML ({' '.join(message.split())})") from error
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return params


#: How an error line shows a refused value: as ``repr`` shows it, but at most 3 levels deep, 6 items a
#: list or mapping and :data:`VALUE_CHARACTERS` characters in all, so that a value YAML aliases expand
#: to millions of nodes (an "alias bomb") still gives a short line, at once.
_VALUE_REPR = reprlib.Repr()  # (keyword arguments from Python 3.12 on)
_VALUE_REPR.maxlevel = 3
_VALUE_REPR.maxtuple = _VALUE_REPR.maxlist = _VALUE_REPR.maxdict = _VALUE_REPR.maxset = 6
_VALUE_REPR.maxstring = _VALUE_REPR.maxlong = _VALUE_REPR.maxother = 200
VALUE_CHARACTERS = 300


def shown_value(value: Any) -> str:
    """Returns ``value`` as an error line shows it: its ``repr``, shortened with ``...`` past the
    limits of :data:`_VALUE_REPR` and :data:`VALUE_CHARACTERS`."""
    text = _VALUE_REPR.repr(value)
    return text if len(text) <= VALUE_CHARACTERS else text[:VALUE_CHARACTERS - 3] + "..."


def shown(text: Any) -> str:
    """Returns a key of params.yaml as an error line names it: as it is when that is unambiguous
    (printable, not empty, no space at either end), else its repr (quoted, escapes visible)."""
    plain = isinstance(text, str) and text.isprintable() and text != "" and text == text.strip()
    return text if plain else repr(text)


# --- what a field expects --------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What a field (or a list's item) expects, as the one error line says it: a text, or a function
    of the refused value that says why it is refused. pydantic ignores it; :func:`one_line` reads it."""

    text: str | Callable[[Any], str]

    def of(self, value: Any) -> str:
        return self.text(value) if callable(self.text) else self.text


def refuse_unless(test: Callable[[Any], bool]) -> AfterValidator:
    """A check pydantic runs after the type: a refusal is worded by the field's :class:`Expect`."""
    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError("refused")  # one_line words it from the field's Expect
        return value
    return AfterValidator(check)


class Section(BaseModel):
    """A mapping of params.yaml: exactly its fields (unknown keys refused), typed, frozen once checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: How an unknown key of this mapping is called in an error line.
    key_noun: ClassVar[str] = "key"

    @classmethod
    def keys(cls) -> list[str]:
        """The keys of this mapping in params.yaml, in order (a field's alias where it has one)."""
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def as_read(cls, raw: Any) -> Any:
        """Returns the raw params as this model's fields read them, for :func:`one_line` to name the
        refused value: ``raw`` itself here; a model whose before-validator rewrites it says how."""
        return raw


# --- pydantic's report, as our one line ------------------------------------------------------------

#: pydantic's type errors -> the type named in the line (YAML's words: a list, a mapping).
_TYPE_NAMES = {"int_type": "int", "float_type": "int or float", "bool_type": "bool", "string_type": "str",
               "tuple_type": "list", "list_type": "list", "dict_type": "mapping", "model_type": "mapping",
               "model_attributes_type": "mapping", "literal_error": "str"}


def _step(annotation: Any, part: Any) -> tuple[Any, list[Expect]]:
    """Returns (the annotation one step into ``annotation`` along ``part`` of an error's location, its
    Expects). A model's field by name or alias, a mapping's value, a tuple's item."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                expects = [m for m in field.metadata if isinstance(m, Expect)]
                inner = _unwrap(field.annotation)
                return inner[0], expects + inner[1]
        return None, []
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if origin is tuple:
        args = typing.get_args(annotation)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else args[part] if isinstance(part, int) and part < len(args) else None
        return _unwrap(item)
    return None, []


def _unwrap(annotation: Any) -> tuple[Any, list[Expect]]:
    """Returns (``annotation`` without Annotated and ``| None``, the Expects it carried)."""
    expects: list[Expect] = []
    while True:
        if typing.get_origin(annotation) is Annotated:
            base, *metadata = typing.get_args(annotation)
            expects = [m for m in metadata if isinstance(m, Expect)] + expects
            annotation = base
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, expects


def _value_at(raw: Any, loc: Sequence[Any], model: type[Section]) -> Any:
    """Returns the value at ``loc`` in ``raw`` as ``model`` reads it (a run's inherited settings included)."""
    node = model.as_read(raw)
    for part in loc:
        node = node[part]
    return node


def _where(loc: Sequence[Any], raw: Any) -> str:
    """Returns the key path of ``loc`` as params.yaml spells it; a setting a run inherits from
    ``defaults`` is named there, with the run it reached: ``defaults.epochs (in run binary)``."""
    if (len(loc) >= 3 and loc[0] == "runs" and isinstance(raw.get("runs"), dict)
            and loc[2] not in (raw["runs"].get(loc[1]) or {})):
        return _path(("defaults",) + tuple(loc[2:])) + f" (in run {loc[1]})"
    return _path(loc)


def _path(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) and text else ("." if text else "") + shown(part)
    return text


def one_line(error: ValidationError, raw: dict[str, Any], model: type[Section], prefix: tuple = ()) -> str:
    """Returns pydantic's first refusal of ``raw`` (the whole params, of type ``model``; ``prefix``: where
    in it the refused part lies) as every refusal reads: the key path, the value, what was expected
    (the :class:`Expect` of the innermost part of the key path that has one)."""
    first = error.errors(include_url=False)[0]
    loc, kind = prefix + tuple(first["loc"]), first["type"]
    parent_type: Any = model
    for part in loc[:-1]:
        parent_type, _ = _step(parent_type, part)
    if kind == "invalid_key":  # a key that is not a string (pydantic's location holds its str())
        loc, kind = loc[:-1] + (first["input"],), "extra_forbidden"
    if kind == "extra_forbidden":
        keys = ", ".join(parent_type.keys()) if isinstance(parent_type, type) and issubclass(parent_type, Section) else ""
        noun = parent_type.key_noun if keys else "key"
        if loc[0] == "runs" and len(loc) == 3 and _where(loc, raw).startswith("defaults"):
            loc = ("defaults", loc[2])  # an unknown default: in defaults, whichever run met it first
        if len(loc) == 1:
            return f"{shown(loc[0])}: unknown {noun}; expected {keys}"
        return f"{_path(loc)}: unknown {noun}; expected one of {keys}"
    if kind == "missing" and isinstance(loc[-1], str):  # a missing key (a short list's item is a value error)
        where = _where(loc, raw)
        parent = "defaults" if where.startswith("defaults") else _path(loc[:-1])
        return f"{parent}: missing {loc[-1]}"
    # The innermost part of the location that says what it expects names the culprit.
    annotation, chain = model, []
    for i, part in enumerate(loc):
        annotation, expects = _step(annotation, part)
        chain.append((i + 1, expects))
    length, expects = next(((n, e) for n, e in reversed(chain) if e), (len(loc), []))
    culprit = loc[:length]
    value = _value_at(raw, culprit, model)
    expected = expects[0].of(value) if expects else first["msg"].lower().replace("input should be ", "")
    if kind in _TYPE_NAMES and length == len(loc) and kind != "literal_error" and _TYPE_NAMES[kind] != "mapping":
        expected = f"{expected} (a value of type {_TYPE_NAMES[kind]})" if expects else f"a value of type {_TYPE_NAMES[kind]}"
    return f"{_where(culprit, raw)} = {shown_value(value)}: expected {expected}"


def expected_of(model: type[Section], key: str, value: Any) -> str:
    """Returns what ``key`` of ``model`` expects, as the one line says it of the refused ``value``."""
    _, expects = _step(model, key)
    return expects[0].of(value)


def validate(model: type[Section], raw: dict[str, Any], **context: Any) -> Any:
    """Returns ``raw`` as ``model``; raises PipelineError with :func:`one_line` of pydantic's refusal."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as error:
        raise PipelineError(one_line(error, raw, model)) from None

