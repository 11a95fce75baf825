"""The AsyncAPI document and the JS client say what the code does."""

import re
from pathlib import Path

import yaml

from realtime import errors, registry
from realtime.close_codes import CloseCode
from realtime.conf import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "openapi/asyncapi.yaml").read_text())
CLIENT = ROOT / "clients/js"
THROTTLE = (DEFAULTS["THROTTLE_BURST"], DEFAULTS["THROTTLE_RATE"])


def test_every_error_code_is_documented():
    documented = DOC["components"]["messages"]["Error"]["payload"]["properties"]["payload"]
    codes = {error.code for error in errors.SocketError.__subclasses__()}
    assert set(documented["properties"]["code"]["enum"]) == codes


def test_every_subscribable_model_is_documented():
    messages = DOC["components"]["messages"]
    model = messages["Subscribe"]["payload"]["properties"]["model"]
    batch = messages["SubscribeBatch"]["payload"]["properties"]["subscribe"]
    assert model["enum"] == batch["items"]["properties"]["model"]["enum"] == registry.labels()


def test_close_codes_are_documented():
    assert set(DOC["x-close-codes"]) == {str(code.value) for code in CloseCode}


def test_the_js_client_paces_messages_to_the_servers_throttle():
    source = (CLIENT / "src/client.js").read_text()
    defaults = re.search(r"sendBurst: (\d+),\s+sendRate: (\d+),", source)

    assert (int(defaults[1]), float(defaults[2])) == THROTTLE


def test_the_js_client_docs_state_the_servers_throttle():
    readme = " ".join((CLIENT / "README.md").read_text().split())
    declarations = (CLIENT / "index.d.ts").read_text()
    said = re.search(r"default throttle \((\d+) at once, then (\d+) per second", readme)
    burst = re.search(r'THROTTLE_BURST"\]`. Default (\d+)\.', declarations)
    rate = re.search(r'THROTTLE_RATE"\]`. Default (\d+)\.', declarations)

    assert (int(said[1]), float(said[2])) == THROTTLE
    assert (int(burst[1]), float(rate[1])) == THROTTLE
