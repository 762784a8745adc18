"""The library against a real OpenAI-compatible server that is not ours: LiteLLM's proxy from PyPI.

The proxy runs from its own venv (never ours: it pins its own openai SDK), made by `.ci/run` from
`.ci/litellm-requirements.txt`, or named by `MODELS_TEST_LITELLM` (the path of a `litellm` command).
The tests skip when it is not installed and fail when it is installed but does not start. It answers
with LiteLLM's own mock responses (`mock_response`, `mock_tool_calls`: no model, no upstream) on
127.0.0.1 only, offline (the model-cost map shipped in the package, no telemetry, no database, no
`.env` file), and sees none of our environment: only the variables it needs.

What this LiteLLM does on the wire, as these tests pin it: a plain answer reports the mock's fixed
usage (10 prompt, 20 completion tokens); a stream reports usage only when asked
(`stream_options.include_usage`), counted by its tokenizer, in a last chunk of its own; a tool call
comes with `finish_reason` "stop" and content "" (OpenAI sends "tool_calls" and null), and a
streamed one does not come at all (not tested: that stream has no call and no usage); a 429 has no
`Retry-After`, and its router retries it for seconds unless told not to; without a key database, a
key other than the master key is refused with a 400 "No connected db." (`no_db_connection`), not a
401; no key at all is a 401.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from pydantic import BaseModel

from models import AuthenticationError, InvalidRequestError, ModelsAPI, RateLimitError

from .conftest import sample
from .media import png

MASTER_KEY = "sk-litellm-master-TEST-SECRET-5678"
TEXT = "Hello from the LiteLLM proxy."
JSON = '{"city": "Paris", "celsius": 21}'
READY_WITHIN = 60.0  # seconds; it starts in about 4 s on two cores
_CI = Path(__file__).resolve().parent.parent / ".ci"
_VENV_CLI = _CI / "litellm-venv" / "bin" / "litellm"
_INSTALL = (
    "python3 -m venv .ci/litellm-venv && .ci/litellm-venv/bin/pip install -r .ci/litellm-requirements.txt "
    "(what .ci/run does), or set MODELS_TEST_LITELLM to a litellm command"
)

# Four models, answered by LiteLLM itself: text, a tool call, JSON, a rate limit. No retries of its own
# (its router would retry the 429 for seconds), no telemetry.
_CONFIG = f"""\
model_list:
  - model_name: mock-chat
    litellm_params: {{model: openai/mock-chat, api_key: unused, mock_response: "{TEXT}"}}
  - model_name: mock-tools
    litellm_params:
      model: openai/mock-tools
      api_key: unused
      mock_response: ""
      mock_tool_calls:
        - {{id: call_weather_1, type: function, function: {{name: get_weather, arguments: '{{"city": "Paris"}}'}}}}
  - model_name: mock-json
    litellm_params: {{model: openai/mock-json, api_key: unused, mock_response: '{JSON}'}}
  - model_name: mock-limited
    litellm_params: {{model: openai/mock-limited, api_key: unused, mock_response: litellm.RateLimitError}}
general_settings:
  master_key: {MASTER_KEY}
litellm_settings:
  telemetry: false
  num_retries: 0
router_settings:
  num_retries: 0
"""

# Direct connections only: a proxy from the environment must not sit between us and 127.0.0.1.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Proxy(NamedTuple):
    base_url: str  # what the library is given: http://127.0.0.1:<port>/v1
    log: Path  # the server's output (its access log counts the requests it answered)


def _command() -> str:
    named = os.environ.get("MODELS_TEST_LITELLM")
    if named:
        found = shutil.which(named)
        if found is None:
            pytest.fail(f"MODELS_TEST_LITELLM={named!r} is not an executable litellm command")
        return found
    if not os.access(_VENV_CLI, os.X_OK):
        pytest.skip(f"LiteLLM's proxy is not installed: {_INSTALL}")
    return str(_VENV_CLI)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _alive(port: int) -> bool:
    try:
        with _http.open(f"http://127.0.0.1:{port}/health/liveliness", timeout=1) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def litellm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """LiteLLM's proxy on a free local port with `_CONFIG`, until the module's tests are done."""
    command = _command()
    home = tmp_path_factory.mktemp("litellm")
    config = home / "config.yaml"
    config.write_text(_CONFIG)
    log = home / "server.log"
    port = _free_port()
    env = {
        "PATH": os.defpath,
        "HOME": str(home),
        "LITELLM_MODE": "PRODUCTION",  # not DEV: no .env file is loaded
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the price map shipped in the package, not a download
        "LITELLM_TELEMETRY": "False",
    }
    argv = [command, "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--telemetry", "False"]
    with log.open("wb") as out:
        server = subprocess.Popen(argv, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not _alive(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"LiteLLM's proxy did not start within {READY_WITHIN:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield Proxy(f"http://127.0.0.1:{port}/v1", log)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def proxy(api: ModelsAPI, litellm: Proxy, monkeypatch: pytest.MonkeyPatch) -> ModelsAPI:
    """`api` with the proxy registered as provider `litellm`, its master key in `LITELLM_TEST_KEY`."""
    monkeypatch.setenv("LITELLM_TEST_KEY", MASTER_KEY)
    api.register_openai_compatible("litellm", base_url=litellm.base_url, api_key_env="LITELLM_TEST_KEY")
    return api


def _labels(model: str = "litellm/mock-chat") -> dict[str, str]:
    return {"provider": "litellm", "model": model}


def _answered(proxy: Proxy, status: int) -> int:
    """How many chat requests the server has answered with `status`, by its access log."""
    return proxy.log.read_text(errors="replace").count(f'"POST /v1/chat/completions HTTP/1.1" {status} ')


def _printed(err: BaseException) -> str:
    """Everything a user could print of an error: message, repr, traceback with its causes."""
    return "\n".join([str(err), repr(err), *traceback.format_exception(err), repr(err.__cause__)])


def test_a_call_returns_the_mock_text_and_the_token_counts_the_server_reports(proxy: ModelsAPI) -> None:
    with pytest.warns(UserWarning, match=r"^litellm/mock-chat has no price, so usage.cost is None"):
        r = proxy("litellm/mock-chat", "hi")

    assert (r.text, r.model, r.provider, r.finish_reason) == (TEXT, "litellm/mock-chat", "litellm", "stop")
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (10, 20, 30)
    assert (r.usage.cost, r.usage.price_source) == (None, "none")
    assert r.raw.choices[0].message.content == TEXT  # the openai SDK's own object, from LiteLLM's JSON
    assert sample(proxy, "models_requests_total", **_labels(), status="ok") == 1
    assert sample(proxy, "models_tokens_total", **_labels(), type="input") == 10
    assert sample(proxy, "models_tokens_total", **_labels(), type="output") == 20
    assert sample(proxy, "models_unpriced_requests_total", **_labels()) == 1
    assert sample(proxy, "models_cost_usd_total", **_labels()) == 0  # priced calls only; this one is unpriced
    assert sample(proxy, "models_request_duration_seconds_count", **_labels()) == 1


def test_a_stream_joins_to_the_text_and_takes_usage_from_the_servers_last_chunk(proxy: ModelsAPI) -> None:
    s = proxy.stream("litellm/mock-chat", "hi")
    pieces = list(s)

    # LiteLLM streams its mock three characters at a time, then a chunk with only the usage
    assert pieces == ["Hel", "lo ", "fro", "m t", "he ", "Lit", "eLL", "M p", "rox", "y."]
    r = s.response
    assert ("".join(pieces), r.text, r.finish_reason) == (TEXT, TEXT, "stop")
    # counted by LiteLLM's tokenizer, not the mock's fixed 10/20: what a stream reports is what is kept
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (8, 8, 16)
    assert sample(proxy, "models_requests_total", **_labels(), status="ok") == 1
    assert sample(proxy, "models_tokens_total", **_labels(), type="input") == 8
    assert sample(proxy, "models_tokens_total", **_labels(), type="output") == 8
    assert sample(proxy, "models_time_to_first_token_seconds_count", **_labels()) == 1


def test_acall_and_astream_use_the_async_client(proxy: ModelsAPI) -> None:
    async def main() -> tuple[str, tuple[int, int], list[str], tuple[int, int]]:
        r = await proxy.acall("litellm/mock-chat", "hi")
        s = proxy.astream("litellm/mock-chat", "hi")
        pieces = [piece async for piece in s]
        u = s.response.usage
        return r.text, (r.usage.input_tokens, r.usage.output_tokens), pieces, (u.input_tokens, u.output_tokens)

    text, usage, pieces, streamed = asyncio.run(main())

    assert (text, usage, "".join(pieces), streamed) == (TEXT, (10, 20), TEXT, (8, 8))
    assert sample(proxy, "models_requests_total", **_labels(), status="ok") == 2
    assert sample(proxy, "models_tokens_total", **_labels(), type="input") == 18
    assert sample(proxy, "models_tokens_total", **_labels(), type="output") == 28


def test_a_wrong_key_is_refused_and_appears_nowhere(proxy: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "sk-litellm-WRONG-KEY-0000"
    monkeypatch.setenv("LITELLM_TEST_KEY", wrong)
    with pytest.raises(InvalidRequestError) as caught:
        proxy("litellm/mock-chat", "hi")

    err = caught.value
    # LiteLLM without a key database cannot tell a wrong key from an unknown one: 400, not 401
    assert type(err) is InvalidRequestError and err.status_code == 400
    assert "No connected db." in str(err)
    assert type(err.__cause__).__name__ == "BadRequestError"  # the openai SDK's exception
    printed = _printed(err)
    assert (wrong in printed, "WRONG" in printed, MASTER_KEY in printed) == (False, False, False)
    assert sample(proxy, "models_requests_total", **_labels(), status="invalid_request") == 1
    assert sample(proxy, "models_retries_total", **_labels(), reason="invalid_request") is None


def test_an_endpoint_without_a_key_variable_sends_no_key_not_even_openais(
    api: ModelsAPI, litellm: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", MASTER_KEY)  # would be accepted, were it sent
    api.register_openai_compatible("litellm", base_url=litellm.base_url)
    with pytest.raises(AuthenticationError) as caught:
        api("litellm/mock-chat", "hi")

    err = caught.value
    assert type(err) is AuthenticationError and err.status_code == 401
    assert "No api key passed in." in str(err)  # LiteLLM saw no Authorization header at all
    assert MASTER_KEY not in _printed(err)
    assert sample(api, "models_requests_total", **_labels(), status="authentication") == 1


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_a_mocked_tool_call_comes_back_as_a_tool_call(proxy: ModelsAPI) -> None:
    r = proxy("litellm/mock-tools", "Weather in Paris?", tools=[get_weather])

    assert [(c.id, c.name, c.arguments) for c in r.tool_calls] == [("call_weather_1", "get_weather", {"city": "Paris"})]
    assert r.text == ""
    assert r.finish_reason == "tool_calls"  # LiteLLM says "stop" (OpenAI does too when tool_choice names it)
    assert (r.usage.input_tokens, r.usage.output_tokens) == (10, 20)
    assert sample(proxy, "models_requests_total", **_labels("litellm/mock-tools"), status="ok") == 1

    # the answer goes back as OpenAI's turns (the call, then its result), which LiteLLM takes
    call = r.tool_calls[0]
    turns = [{"role": "user", "content": "Weather in Paris?"}, r.message, call.result(get_weather(**call.arguments))]
    assert proxy("litellm/mock-chat", turns, tools=[get_weather]).text == TEXT


def test_a_streamed_tool_call_the_server_drops_leaves_a_cost_unknown_not_zero(
    proxy: ModelsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELS_COST_LITELLM_MOCK_TOOLS_INPUT", "2")
    monkeypatch.setenv("MODELS_COST_LITELLM_MOCK_TOOLS_OUTPUT", "8")
    proxy.reload_costs()

    s = proxy.stream("litellm/mock-tools", "Weather in Paris?", tools=[get_weather])
    with pytest.warns(UserWarning, match=r"^litellm/mock-tools answered without reporting its usage, so usage.cost"):
        pieces = list(s)

    r = s.response  # LiteLLM streams its mock tool call as two empty chunks: no call, no usage
    assert (pieces, r.tool_calls, r.finish_reason) == ([], (), "stop")
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost, r.usage.price_source) == (0, 0, None, "override")
    assert sample(proxy, "models_unpriced_requests_total", **_labels("litellm/mock-tools")) == 1
    assert sample(proxy, "models_cost_usd_total", **_labels("litellm/mock-tools")) == 0


class Weather(BaseModel):
    city: str
    celsius: int


def test_structured_output_is_parsed_from_a_call_and_a_stream(proxy: ModelsAPI) -> None:
    r = proxy("litellm/mock-json", "Weather in Paris?", response_format=Weather)
    s = proxy.stream("litellm/mock-json", "Weather in Paris?", response_format=Weather)
    streamed = "".join(s)

    paris = Weather(city="Paris", celsius=21)
    assert (r.text, r.parsed, r.usage.input_tokens, r.usage.output_tokens) == (JSON, paris, 10, 20)
    assert (streamed, s.response.parsed) == (JSON, paris)
    assert (s.response.usage.input_tokens, s.response.usage.output_tokens) == (11, 13)  # its tokenizer's count


def test_attached_images_reach_the_server_as_image_parts(proxy: ModelsAPI) -> None:
    def streamed_input_tokens(*images: bytes) -> int:
        s = proxy.stream("litellm/mock-chat", "What is this?", attachments=list(images))
        assert "".join(s) == TEXT
        return s.response.usage.input_tokens

    # LiteLLM's tokenizer counts 85 tokens per image part (OpenAI's low-detail cost) it parsed from our data: URLs
    assert [streamed_input_tokens(), streamed_input_tokens(png()), streamed_input_tokens(png(), png(16, 16))] == [
        11,
        11 + 85,
        11 + 2 * 85,
    ]


def test_the_servers_429_is_a_rate_limit_error_retried_by_us_only(proxy: ModelsAPI, litellm: Proxy) -> None:
    before = _answered(litellm, 429)
    with pytest.raises(RateLimitError) as caught:
        proxy("litellm/mock-limited", "hi", max_retries=2)

    err = caught.value
    assert (type(err), err.status_code, err.retry_after) == (RateLimitError, 429, None)
    assert "this is a mock rate limit error" in str(err)
    labels = _labels("litellm/mock-limited")
    assert sample(proxy, "models_retries_total", **labels, reason="rate_limit") == 2
    assert sample(proxy, "models_requests_total", **labels, status="rate_limit") == 1
    # the server answered exactly three requests: ours, no SDK retries stacked on them
    assert _answered(litellm, 429) - before == 3


def test_a_cost_override_prices_the_endpoints_model(proxy: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_LITELLM_MOCK_CHAT_INPUT", "2")
    monkeypatch.setenv("MODELS_COST_LITELLM_MOCK_CHAT_OUTPUT", "8")
    proxy.reload_costs()

    r = proxy("litellm/mock-chat", "hi")

    assert (r.usage.cost, r.usage.price_source) == (0.00018, "override")  # 10 x $2 + 20 x $8 per 1M tokens
    assert sample(proxy, "models_cost_usd_total", **_labels()) == 0.00018
    assert sample(proxy, "models_unpriced_requests_total", **_labels()) == 0


def test_a_local_endpoint_costs_nothing_unless_priced(
    api: ModelsAPI, litellm: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_TEST_KEY", MASTER_KEY)
    api.register_openai_compatible("litellm", base_url=litellm.base_url, api_key_env="LITELLM_TEST_KEY", local=True)

    r = api("litellm/mock-chat", "hi")

    assert (r.usage.input_tokens, r.usage.cost, r.usage.price_source) == (10, 0.0, "local")
    assert sample(api, "models_unpriced_requests_total", **_labels()) == 0
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"litellm/mock-chat": {"input": 2, "output": 8}}')
    api.reload_costs()
    priced = api("litellm/mock-chat", "hi").usage
    assert (priced.cost, priced.price_source, api.usage()["litellm/mock-chat"].cost) == (0.00018, "override", 0.00018)


def test_the_server_is_the_pinned_litellm(litellm: Proxy) -> None:
    """The numbers above are this version's: a new pin means checking them again."""
    pinned = re.search(r"^litellm==(\S+)$", (_CI / "litellm-requirements.txt").read_text(), re.MULTILINE)
    assert pinned is not None
    request = urllib.request.Request(
        f"{litellm.base_url}/chat/completions",
        data=b'{"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]}',
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
    )
    with _http.open(request, timeout=10) as r:
        assert r.headers["x-litellm-version"] == pinned[1] == "1.82.6"
