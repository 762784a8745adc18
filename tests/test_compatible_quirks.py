"""Each OpenAI-compatible service's quirks, as the research found them (sources in the comments of
`PRESETS`, models/providers/_registry.py): what a request leaves out or renames, and the ways a stream
reports its usage. First the fake's renditions of those streams, proved against the real openai SDK."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from models import ModelsAPI, ModelsWarning

from .compatible import model, wire
from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply


@pytest.fixture(autouse=True)
def presets_on_fake(monkeypatch: pytest.MonkeyPatch, fake: FakeLLM) -> None:
    wire(monkeypatch, fake)


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="k", base_url=fake_server.openai_base_url, max_retries=0, timeout=10) as made:
        yield made


def chunks(client: openai.OpenAI, **kwargs: Any) -> list[Any]:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hello there"}], stream=True, **kwargs
    )
    return list(stream)


# --- the fake's stream usage styles against the SDK ---------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "asked", "usage_at"),
    [
        ("asked", True, [None, None, None, 15]),  # OpenAI: a last chunk without choices
        ("asked", False, [None, None, None]),
        ("always", False, [None, None, None, 15]),  # Fireworks, OpenRouter, Together
        ("last", False, [None, None, 15]),  # Mistral: on the chunk with the finish reason
        ("x_groq", False, [None, None, None]),  # Groq before stream_options: only in x_groq
        ("null_choices", True, [None, None, None, 15]),  # some vLLM builds: choices null
    ],
)
def test_the_fakes_stream_usage_styles_reach_the_sdk(
    fake: FakeLLM, client: openai.OpenAI, style: str, asked: bool, usage_at: list[int | None]
) -> None:
    fake.enqueue(Reply(stream_usage=style))
    got = chunks(client, **({"stream_options": {"include_usage": True}} if asked else {}))
    assert [c.usage.total_tokens if c.usage else None for c in got] == usage_at
    assert "".join(c.choices[0].delta.content or "" for c in got if c.choices) == "echo: hello there"
    groq = [(c.model_extra or {}).get("x_groq") for c in got]
    if style == "x_groq":
        assert groq[:-1] == [None, None] and groq[-1]["usage"]["total_tokens"] == 15
    else:
        assert groq == [None] * len(got)


def test_a_named_comment_line_reaches_the_sdk(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Fault(sse_comment=": OPENROUTER PROCESSING"))
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        lines = list(response.iter_lines())
    assert lines.count(": OPENROUTER PROCESSING") == 4  # before each of the three pieces and [DONE]


# --- streams ------------------------------------------------------------------------------------------------


def streamed(api: ModelsAPI, model_id: str, **params: Any) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*answered without reporting its usage")
        s = api.stream(model_id, "hello there", **params)
        return "".join(s), s.response


def test_mistral_is_never_sent_stream_options_and_its_last_chunk_has_the_usage(api: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=31, output_tokens=7, stream_usage="last"))
    text, r = streamed(api, model("mistral"))
    assert (text, r.usage.input_tokens, r.usage.output_tokens, r.finish_reason) == ("echo: hello there", 31, 7, "stop")
    assert r.usage.cost == pytest.approx((31 * 2 + 7 * 6) / 1e6, rel=1e-12)
    # not even when the caller gives it: Mistral would answer 422
    message = "mistral/mistral-large-latest does not accept 'stream_options'; it was not sent."
    with pytest.warns(ModelsWarning, match=re.escape(message)):
        assert "".join(api.stream(model("mistral"), "hi", stream_options={"include_usage": True})) == "echo: hi"
    assert [request.body.get("stream_options") for request in fake.requests] == [None, None]


def test_groqs_usage_in_x_groq_is_read_when_no_usage_chunk_comes(api: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=40, output_tokens=9, stream_usage="x_groq"))
    text, r = streamed(api, model("groq"))
    assert (text, r.usage.input_tokens, r.usage.output_tokens) == ("echo: hello there", 40, 9)
    assert r.usage.cost == pytest.approx((40 * 0.59 + 9 * 0.79) / 1e6, rel=1e-12)
    assert sample(api, "models_unpriced_requests_total", provider="groq", model=model("groq")) == 0


def test_vllms_usage_chunk_with_null_choices(api: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=22, output_tokens=3, stream_usage="null_choices"))
    text, r = streamed(api, model("vllm"))
    assert (text, r.usage.input_tokens, r.usage.output_tokens, r.finish_reason) == ("echo: hello there", 22, 3, "stop")


@pytest.mark.parametrize("name", ["fireworks", "openrouter", "together"])
def test_usage_sent_unasked_is_read_once(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.set_reply(Reply(input_tokens=5, output_tokens=2, stream_usage="always"))
    text, r = streamed(api, model(name))
    assert (text, r.usage.input_tokens, r.usage.output_tokens) == ("echo: hello there", 5, 2)
    assert sample(api, "models_tokens_total", provider=name, model=model(name), type="input") == 5


def test_openrouters_processing_comments(api: ModelsAPI, fake: FakeLLM) -> None:
    """OpenRouter keeps a slow stream open with `: OPENROUTER PROCESSING` comment lines."""
    fake.enqueue(Fault(sse_comment=": OPENROUTER PROCESSING"))
    text, r = streamed(api, model("openrouter"))
    assert (text, r.usage.input_tokens, r.finish_reason) == ("echo: hello there", 10, "stop")


def test_a_chunk_without_choices_is_skipped(api: ModelsAPI, fake: FakeLLM) -> None:
    """Azure's first chunk (and any server's like it): `choices: []`, only prompt_filter_results."""
    empty = {"id": "", "object": "", "created": 0, "model": "", "choices": [],
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}  # fmt: skip
    fake.enqueue(Fault(inject=b"data: " + json.dumps(empty).encode() + b"\n\n"))
    text, r = streamed(api, model("together"))
    assert (text, r.usage.output_tokens) == ("echo: hello there", 5)


def test_deepseeks_cache_hits_in_a_stream(api: ModelsAPI, fake: FakeLLM) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    fake.set_reply(Reply(raw_usage={**usage, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}))
    _, r = streamed(api, model("deepseek"))
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens) == (100, 64, 20)
    assert r.usage.cost == pytest.approx((36 * 0.15 + 64 * 0.003 + 20 * 0.6) / 1e6, rel=1e-12)


# --- parameters a service rejects or names otherwise ----------------------------------------------------------


def warned(call: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, ModelsWarning)]


def test_mistral_gets_random_seed_and_max_tokens(api: ModelsAPI, fake: FakeLLM) -> None:
    """Mistral calls the seed `random_seed` and refuses `max_completion_tokens` (422 extra_forbidden)."""
    api(model("mistral"), "hi", seed=7, max_completion_tokens=50, temperature=0.3)
    api.bind(model("mistral"), seed=8)("hi")
    first, second = (request.body for request in fake.requests)
    assert first == {
        "model": "mistral-large-latest",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "random_seed": 7,
        "max_tokens": 50,
    }
    assert (second["random_seed"], "seed" in second) == (8, False)
    api(model("groq"), "hi", seed=7)
    assert (fake.requests[-1].body["seed"], "random_seed" in fake.requests[-1].body) == (7, False)


@pytest.mark.parametrize("name", ["xai/grok-4.5", "xai/grok-4.20-0309-non-reasoning", "xai/grok-3-mini"])
def test_xai_reasoning_models_drop_stop_and_penalties_with_one_warning(
    api: ModelsAPI, fake: FakeLLM, name: str
) -> None:
    params = {"stop": ["END"], "presence_penalty": 0, "frequency_penalty": 0.5, "temperature": 0.2}
    assert sorted(warned(lambda: api(name, "hi", **params))) == [
        f"{name} does not accept {param!r}; it was not sent."
        for param in ("frequency_penalty", "presence_penalty", "stop")
    ]
    assert warned(lambda: api(name, "hi", **params)) == []  # once per model and parameter
    assert [request.body.get("temperature") for request in fake.requests] == [0.2, 0.2]
    assert not {"stop", "presence_penalty", "frequency_penalty"} & set(fake.requests[0].body)


def test_xai_grok_3_keeps_stop(api: ModelsAPI, fake: FakeLLM) -> None:
    assert warned(lambda: api("xai/grok-3", "hi", stop=["END"], presence_penalty=0.1)) == []
    assert (fake.requests[0].body["stop"], fake.requests[0].body["presence_penalty"]) == (["END"], 0.1)


def test_groq_drops_logprobs_and_logit_bias(api: ModelsAPI, fake: FakeLLM) -> None:
    params = {"logprobs": True, "top_logprobs": 2, "logit_bias": {"50256": -100}}
    assert sorted(warned(lambda: api(model("groq"), "hi", **params))) == [
        f"{model('groq')} does not accept {param!r}; it was not sent." for param in sorted(params)
    ]
    assert not set(params) & set(fake.requests[0].body)
    assert warned(lambda: api(model("together"), "hi", **params)) == []  # Together takes them
    assert {key: fake.requests[1].body[key] for key in params} == params
