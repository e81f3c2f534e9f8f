"""The Jinja2 environment of the LaTeX templates in ``report/templates/`` and :func:`render`.

The templates use LaTeX-safe delimiters: ``\\VAR{...}`` inserts a value, ``\\BLOCK{...}`` is a
control statement, ``\\#{...}`` a comment. Every inserted string is escaped for LaTeX; a number
must go through a number filter (``loss``, ``acc``, ``pp``, ``num``, ``full``, ``sci``,
``fixed``, ``count``), so that its format is a decision of the template, never an accident of
``str``. The filters (:mod:`mnist_report.reporting.latex`) and the templates' macros return LaTeX, inserted
as it is.

An undefined name fails the render with a message naming it (``metrics/softmax.json: missing
'val_loss'``), never an empty string.

Compiling the templates to Python takes a third of the report stage's time; the stage keeps the
compiled code between runs in :data:`BYTECODE_CACHE` (Jinja2's bytecode cache, :class:`CompiledTemplates`),
under a key of everything the compiled code depends on: the template's name, file and source (Jinja2
checks the source's checksum), and the environment (:func:`environment_digest`: this module's code and
:mod:`mnist_report.reporting.latex`'s, whose filters and ``finalize`` Jinja2 applies at compile time to constant
expressions, the number format those filters use, Jinja2's and Python's versions). The rendered text
is the same with or without it (``tests/unit/reporting/test_templates.py``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jinja2.utils

from mnist_report.common.errors import PipelineError
from mnist_report.reporting import latex
from mnist_report.reporting.latex import Tex

TEMPLATE_DIR = Path("report/templates")
TEMPLATE = "report.tex.j2"
#: The report stage's compiled templates between runs (git-ignored; not a DVC output).
BYTECODE_CACHE = Path(".cache/jinja")


def finalize(value: Any) -> Tex:
    """Turns every ``\\VAR{...}`` into LaTeX: Tex and a macro's output as they are, str escaped, int
    as digits; refuses anything else (a float must be formatted by a filter)."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined: raises the UndefinedError that names what is missing
    if isinstance(value, str):
        return latex.as_tex(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Tex(str(value))
    raise PipelineError(f"the template inserts {type(value).__name__} {value!r} as it is; "
                        "format it with a filter (loss, acc, pp, num, full, sci, fixed, count, yesno)")


# ---------------------------------------------------------------------------- undefined names

class Record(dict):
    """A mapping that knows where it came from, so that a missing key is reported against its source.

    ``where`` is a file (``metrics/softmax.json``) when ``is_file``, else the dotted name of the
    template variable (``task2.shuffling``).
    """

    def __init__(self, values: dict, where: str, *, is_file: bool = False) -> None:
        super().__init__(values)
        self.where = where
        self.is_file = is_file


class _StrictUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose message names the file or template variable that lacks the name."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Record) and name is not None:
            return f"{obj.where}: missing {name!r}" if obj.is_file else f"template variable {obj.where}.{name} is undefined"
        if obj is jinja2.utils.missing and name is not None:
            return f"template variable {name!r} is undefined"
        return super()._undefined_message


def as_records(value: Any, where: str) -> Any:
    """Returns ``value`` with every dict made a :class:`Record` named by its path in the context."""
    if isinstance(value, dict):
        items = {key: as_records(item, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
        if isinstance(value, Record):
            return Record(items, value.where, is_file=value.is_file)
        return Record(items, where or "context")
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        return [as_records(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


# ------------------------------------------------------------------------------------ rendering

def environment_digest(number_format: dict[str, int]) -> str:
    """Returns the sha256 (hex) of what the code Jinja2 compiles a template to depends on besides the
    template: the environment's settings (this module's source: delimiters, autoescape, finalize,
    the filters' names), the filters themselves and the number format they use (Jinja2 folds a filter
    or ``finalize`` applied to a constant into the compiled code: ``\\VAR{0.5|loss}`` is compiled to
    its text) and the versions of Jinja2 and Python."""
    hasher = hashlib.sha256(b"mnist-report templates\0")
    hasher.update(f"{jinja2.__version__}\0{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    hasher.update(f"{number_format['loss_decimals']}\0{number_format['accuracy_decimals']}\0".encode())
    for module_file in (__file__, latex.__file__):
        hasher.update(Path(module_file).read_bytes() + b"\0")
    return hasher.hexdigest()


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja2's cache of compiled templates in a directory, one file per template, its key (the file
    name) the digest of the template's name and file and :func:`environment_digest`. Jinja2 itself
    checks that the source is the one compiled (a checksum in the file); a file it cannot read back
    is compiled again."""

    def __init__(self, directory: str | os.PathLike, number_format: dict[str, int]) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError:
            pass  # then nothing is kept: Jinja2 compiles as without a cache
        super().__init__(str(directory), "%s.jinja")
        self.environment = environment_digest(number_format)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha256(f"{self.environment}|{name}|{filename}".encode()).hexdigest()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - Jinja2 catches only marshal's errors; any damage means compile again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # the cache only saves time: a template it cannot keep is compiled again next time


def make_environment(template_dir: str | os.PathLike, number_format: dict[str, int], *,
                     bytecode_dir: str | os.PathLike | None = None) -> jinja2.Environment:
    """Returns the Jinja2 environment of the LaTeX templates in ``template_dir``; with ``bytecode_dir``,
    it keeps the compiled templates there between processes (:class:`CompiledTemplates`).

    Autoescaping is on so that a macro's output is LaTeX (Jinja2 marks it safe) and needs no
    filter; what is escaped, and how, is :func:`finalize`'s decision (LaTeX, never HTML).
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=True, finalize=finalize, undefined=_StrictUndefined,
        bytecode_cache=CompiledTemplates(bytecode_dir, number_format) if bytecode_dir is not None else None,
    )
    loss_decimals, accuracy_decimals = number_format["loss_decimals"], number_format["accuracy_decimals"]
    filters: dict[str, Callable[..., Any]] = {
        "loss": lambda value: latex.fixed(value, loss_decimals),
        "acc": lambda value: latex.percent(value, accuracy_decimals),
        "pp": lambda value: latex.points(value, accuracy_decimals),
        "fixed": latex.fixed, "sci": latex.sci, "num": latex.num, "full": latex.full, "yesno": latex.yesno,
        "tt": latex.tt, "path": latex.path, "run": latex.run, "setting": latex.setting, "count": latex.count,
        "spelled": latex.spelled,
        "plural": latex.plural, "epochs": latex.epochs, "listing": latex.listing, "commas": latex.commas,
        "than": latex.than,
    }
    environment.filters.update({name: _strict(function) for name, function in filters.items()})
    return environment


def _strict(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a filter that raises the UndefinedError naming an undefined value it is given."""

    @functools.wraps(function)
    def checked(value: Any, *arguments: Any) -> Any:
        if isinstance(value, jinja2.Undefined):
            str(value)  # StrictUndefined raises, naming what is missing
        return function(value, *arguments)

    return checked


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str, loss_decimals: int, accuracy_decimals: int,
                 bytecode_dir: str | None) -> jinja2.Environment:
    """:func:`make_environment`, kept between renders: Jinja2 compiles each template once and
    recompiles it when its file changes (``auto_reload``)."""
    return make_environment(template_dir, {"loss_decimals": loss_decimals, "accuracy_decimals": accuracy_decimals},
                            bytecode_dir=bytecode_dir)


def _template_location(error: BaseException, template_dir: Path) -> str:
    """Returns where in the templates ``error`` happened: ``path:line``, innermost first, followed by
    the lines that called it (a macro's caller: ``macros.tex.j2:16 from task3.tex.j2:12``)."""
    if isinstance(error, jinja2.TemplateSyntaxError) and error.lineno:
        return f"{error.filename or error.name}:{error.lineno}"
    locations: list[str] = []
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if not frame.filename.endswith(".j2"):
            continue
        path = Path(frame.filename)
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        location = f"{path if not locations else path.name}:{frame.lineno}"
        if location not in locations:
            locations.append(location)
    return " from ".join(locations[:2])


def render(context: dict[str, Any], template_dir: str | os.PathLike = TEMPLATE_DIR,
           template: str = TEMPLATE, *, bytecode_dir: str | os.PathLike | None = None) -> str:
    """Returns the LaTeX of ``template`` in ``template_dir`` rendered with ``context``.

    ``context`` is what :func:`mnist_report.reporting.context.build_context` returns (its ``number_format``
    sets the ``loss``, ``acc`` and ``pp`` filters). Raises PipelineError naming the template line and
    the culprit for an undefined name, an unformatted number, a template syntax error or a failing
    expression. ``bytecode_dir``: where compiled templates are kept between processes (see the module
    docstring); None compiles them in this process only.
    """
    template_dir = Path(template_dir)
    number_format = context.get("number_format") or {"loss_decimals": 4, "accuracy_decimals": 2}
    environment = _environment(str(template_dir), number_format["loss_decimals"], number_format["accuracy_decimals"],
                               None if bytecode_dir is None else str(bytecode_dir))
    try:
        text = environment.get_template(template).render(as_records(context, ""))
    except jinja2.TemplateNotFound as error:
        raise PipelineError(f"{template_dir / (error.name or template)}: template not found") from error
    except jinja2.TemplateSyntaxError as error:
        raise PipelineError(f"{_template_location(error, template_dir)}: template syntax error: {error.message}") from error
    except (jinja2.UndefinedError, PipelineError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        where = _template_location(error, template_dir)
        message = " ".join(str(error).split()) or type(error).__name__
        raise PipelineError(f"{message} (template {where})" if where else message) from error
    leftover = re.search(r"\\(VAR|BLOCK)\{|\\#\{", text)
    if leftover:  # e.g. a delimiter inside a string literal; never let template syntax reach LaTeX
        line = text.count("\n", 0, leftover.start()) + 1
        raise PipelineError(f"rendered report keeps template syntax {leftover.group()!r} at line {line}")
    return str(text)
