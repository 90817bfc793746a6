from __future__ import annotations

import pytest

from processors.classify import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.default()
