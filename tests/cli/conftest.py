"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
from rnndyn_cli.main import ONE_SHOT_REFERENCE_SECONDS

from rnndyn import config


@pytest.fixture
def as_the_cli(monkeypatch):
    """Library calls choose ``backend="auto"`` as a one-shot command does, so their bits equal its output."""
    monkeypatch.setattr(config, "AUTO_REFERENCE_SECONDS", ONE_SHOT_REFERENCE_SECONDS)
