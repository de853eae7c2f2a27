"""docs/configuration.md is generated from the settings model and must match it."""

from __future__ import annotations

from service.settings import Settings
from service.settings_doc import OUTPUT, main, render


def test_committed_reference_is_up_to_date() -> None:
    assert OUTPUT.read_text() == render(), "run: python -m service.settings_doc"
    assert main(["--check"]) == 0


def test_every_setting_is_documented_with_a_description() -> None:
    text = render()
    for name, field in Settings.model_fields.items():
        assert f"`MODERATION_{name.upper()}`" in text
        assert field.description, f"{name} needs a description for the reference"


def test_rendering_does_not_depend_on_the_checkout_path() -> None:
    assert "/work/" not in render() and "/tmp/" not in render()
