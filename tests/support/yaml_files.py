"""YAML files as the project reads them (:func:`mnist_report.config.schema.parse_yaml`, ruamel.yaml's
safe loader, the one DVC uses) and written back with ruamel.yaml: the round trip keeps a file's
formatting and comments, so that a changed value is the only change. (Never PyYAML: it reads YAML 1.1,
where ``on`` is true and ``5e-2`` a string.)"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def round_trip_yaml() -> YAML:
    """ruamel.yaml's round-trip reader and writer, set to write params.yaml back byte for byte as it
    was read (its indentation, comments, quotes and long lines kept)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def yaml_text(data: Any) -> str:
    """``data`` (plain dicts, lists, scalars) as YAML text, keys in their order, that the project's reader
    (:func:`mnist_report.config.schema.parse_yaml`) reads back as ``data``."""
    stream = io.StringIO()
    round_trip_yaml().dump(data, stream)
    return stream.getvalue()


def edit_yaml_file(path: Path, edit: Callable[[Any], None]) -> None:
    """Applies ``edit`` to the YAML file ``path`` in place, read and written back by ruamel.yaml's
    round trip: what ``edit`` leaves as it was keeps its text."""
    yaml = round_trip_yaml()
    document = yaml.load(path.read_text(encoding="utf-8"))
    edit(document)
    stream = io.StringIO()
    yaml.dump(document, stream)
    path.write_text(stream.getvalue(), encoding="utf-8")


def set_yaml_value(path: Path, key: str, value: Any) -> None:
    """Sets the dotted ``key`` (``runs.binary.learning_rate``) of the YAML file ``path`` to ``value``,
    the rest of the file as it is; a key the last mapping lacks is added to it."""
    *parents, last = key.split(".")

    def assign(document: Any) -> None:
        mapping = document
        for part in parents:
            if part not in mapping:
                raise KeyError(f"{path}: no {key} (no mapping at {part!r})")
            mapping = mapping[part]
        mapping[last] = value

    edit_yaml_file(path, assign)
