"""The AsyncAPI document says what the code does."""

from pathlib import Path

import yaml

from realtime import errors, registry
from realtime.close_codes import CloseCode

DOC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi/asyncapi.yaml").read_text())


def test_every_error_code_is_documented():
    documented = DOC["components"]["messages"]["Error"]["payload"]["properties"]["payload"]
    codes = {error.code for error in errors.SocketError.__subclasses__()}
    assert set(documented["properties"]["code"]["enum"]) == codes


def test_every_subscribable_model_is_documented():
    model = DOC["components"]["messages"]["Subscribe"]["payload"]["properties"]["model"]
    assert model["enum"] == registry.labels()


def test_close_codes_are_documented():
    assert set(DOC["x-close-codes"]) == {str(code.value) for code in CloseCode}
