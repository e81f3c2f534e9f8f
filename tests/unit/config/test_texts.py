"""config/texts.py: what a text of params.yaml may say: the figure labels' templates (which fields they may fill in, with what format spec) refused in one line naming the first field they cannot use."""

from __future__ import annotations

import pytest
from mnist_report.common.errors import PipelineError
from mnist_report.config.texts import check_label


TAIL = "expected fields among {block_steps} with a short format spec, and literal braces doubled"


@pytest.mark.parametrize(("label", "field"), [
    ("a {{b}} {nope}", "{nope}"),                                # after a literal brace
    ("{{ {block_steps:100}", "{block_steps:100}"),              # a width of three digits
    ("{block_steps:{block_steps}}", "{block_steps:{block_steps}}"),  # a nested field in the spec
])
def test_a_label_template_names_the_first_field_it_cannot_use(label, field):
    with pytest.raises(PipelineError) as error:
        check_label(label, "figures.x.legend", {"block_steps": 10}, False)
    assert str(error.value) == f"figures.x.legend = {label!r}: cannot fill it in (field {field}); {TAIL}"


def test_a_label_template_lists_every_field_it_may_use():
    with pytest.raises(PipelineError) as error:
        check_label("{lambda}", "figures.4c_val_accuracy.legend", {"l2_lambda": 0.1, "run": "softmax"}, False)
    assert str(error.value) == ("figures.4c_val_accuracy.legend = '{lambda}': cannot fill it in (field {lambda}); "
                                "expected fields among {l2_lambda}, {run} with a short format spec, "
                                "and literal braces doubled")


@pytest.mark.parametrize("label", ["{{literal}} {block_steps:>99}", "{block_steps}", "no field", "{block_steps:g}",
                                   "two\nlines of {block_steps}"])
def test_a_label_template_with_known_fields_and_short_specs_passes(label):
    check_label(label, "figures.x.legend", {"block_steps": 10}, False)
