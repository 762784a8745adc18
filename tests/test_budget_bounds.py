"""Budgets reserve the most a call can cost, so no interleaving of calls can overspend them.

Against the wire fake: the reservation is the call's input bound (UTF-8 bytes of its text plus
8 tokens of framing per message and per request, at most the context window) at the dearest
input rate, plus its output bound (`max_tokens` as sent, else the model's maximum output).
"""

from __future__ import annotations

import contextvars
import threading

import pytest

from models import BudgetExceededError, ModelsAPI
from models._call.budget import input_bound, output_bound
from models.providers._base import Request

from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply

# gpt-4o: $2.50 in, $10 out per 1M tokens; 16,384 output tokens at most, a 128,000-token window.
# "hi" may bill 2 bytes + 3 x 8 framing = 26 input tokens.
HI_RESERVE = "0.163905"  # 26 x 2.50 + 16,384 x 10 micro-dollars: no max_tokens, so the model's maximum
LONG_ANSWER = Reply(input_tokens=10, output_tokens=16_000)  # 10 x 2.50 + 16,000 x 10 = 0.160025 USD


def test_sixteen_threads_together_spend_no_more_than_the_budget(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(LONG_ANSWER)
    fake.enqueue(*[Fault(delay=0.05)] * 64)  # every answer takes a while, so calls overlap
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            try:
                wired("gpt-4o", "hi")
                outcome = "ok"
            except BudgetExceededError:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)

    with wired.budget(usd=1) as budget:
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker,)) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # A call is admitted while spent + reserved + 0.163905 <= 1: whatever the interleaving, once
    # one is refused at least 6 are admitted, and a 7th never fits (6 x 0.160025 + 0.163905 > 1).
    assert (outcomes.count("ok"), outcomes.count("refused")) == (6, 58)
    assert budget.spent == 0.96015 and budget.remaining == 0.03985  # 6 x 0.160025, exactly
    totals = wired.usage()["openai/gpt-4o"]
    assert (totals.requests, totals.output_tokens, totals.cost) == (6, 96_000, 0.96015)
    assert sample(wired, "models_cost_usd_total", provider="openai", model="openai/gpt-4o") == 0.96015
    assert len(fake.requests) == 6


def test_one_call_larger_than_the_budget_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(LONG_ANSWER)
    with wired.budget(usd="0.10") as budget:  # less than one call can cost
        with pytest.raises(BudgetExceededError) as caught:
            wired("gpt-4o", "hi")
        assert fake.requests == []
        error = caught.value
        assert (error.limit, error.spent, error.remaining, error.estimate) == (0.1, 0.0, 0.1, float(HI_RESERVE))
        assert str(error) == (
            "Budget of $0.100000 has $0.100000 left ($0.000000 spent or reserved by calls in flight), and this "
            "call reserves $0.163905, the most it can cost: up to 26 input and 16,384 output tokens of "
            "openai/gpt-4o. Nothing was sent. Pass max_tokens (without it, 16,384 is openai/gpt-4o's maximum), "
            "or raise the budget."
        )
        fake.set_reply(Reply(input_tokens=10, output_tokens=1000))
        wired("gpt-4o", "hi", max_tokens=1000)  # reserves 26 x 2.50 + 1,000 x 10 = 0.010065
        assert len(fake.requests) == 1
    assert budget.spent == 0.010025  # 10 x 2.50 + 1,000 x 10 micro-dollars


def test_streams_and_async_calls_reserve_the_same(wired: ModelsAPI, fake: FakeLLM) -> None:
    import asyncio

    with wired.budget(usd="0.10"):
        stream = wired.stream("gpt-4o", "hi")
        with pytest.raises(BudgetExceededError, match=r"reserves \$0\.163905"):
            next(iter(stream))
        with pytest.raises(BudgetExceededError, match=r"reserves \$0\.163905"):
            asyncio.run(wired.acall("gpt-4o", "hi"))
        assert "".join(wired.stream("gpt-4o", "hi", max_tokens=1000)) == "echo: hi"
    assert len(fake.requests) == 1


def test_anthropic_reserves_the_max_tokens_it_sends_by_default(wired: ModelsAPI, fake: FakeLLM) -> None:
    # claude-sonnet-4-6 is sent max_tokens=4096 when none is given; input may be billed as 1-hour
    # cache writes ($6 per 1M): 26 x 6 + 4,096 x 15 = 61,596 micro-dollars.
    with wired.budget(usd="0.061595"), pytest.raises(BudgetExceededError, match=r"reserves \$0\.061596"):
        wired("claude-sonnet-4-6", "hi")
    assert fake.requests == []
    with wired.budget(usd="0.061596") as budget:
        wired("claude-sonnet-4-6", "hi")
    assert fake.requests[0].body["max_tokens"] == 4096
    assert budget.spent == 0.000105  # the default reply: 10 x 3 + 5 x 15 micro-dollars


def test_the_reserve_reaches_the_long_context_tier_the_input_may_reach(api: ModelsAPI) -> None:
    # gpt-5.4: $2.50/$15 up to 272K input tokens, $5/$22.50 for the whole request above
    prompt = "a" * 300_000
    with api.budget(usd="1.5"), pytest.raises(BudgetExceededError) as caught:
        api("gpt-5.4", prompt, max_tokens=1000)
    assert caught.value.estimate == 1.52262  # 300,024 x 5 + 1,000 x 22.50 micro-dollars
    assert "up to 300,024 input and 1,000 output tokens of openai/gpt-5.4" in str(caught.value)


def test_a_call_with_no_output_bound_is_refused_under_a_budget(
    wired: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELS_COST_OPENAI_MY_FINETUNE_INPUT", "1")  # priced, but not in the catalog
    monkeypatch.setenv("MODELS_COST_OPENAI_MY_FINETUNE_OUTPUT", "1")
    with wired.budget(usd=1) as budget:
        with pytest.raises(BudgetExceededError) as caught:
            wired("openai/my-finetune", "hi")
        assert str(caught.value) == (
            "A budget of $1.000000 is in force and this call has no upper bound on its cost: "
            "openai/my-finetune's maximum output is unknown. Pass max_tokens, so the budget can reserve "
            "what the call may cost. Nothing was sent."
        )
        assert caught.value.estimate is None and fake.requests == []
        wired("openai/my-finetune", "hi", max_tokens=50)
    assert len(fake.requests) == 1 and budget.spent == 0.000015  # 10 + 5 tokens at $1 per 1M
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    unknown_window = pytest.raises(BudgetExceededError, match=r"context window is unknown\. Give the window with ")
    with unknown_window, wired.budget(usd=1):
        wired("openai/my-finetune", [{"role": "user", "content": [image]}], max_tokens=50)
    assert len(fake.requests) == 1
    wired("openai/my-finetune", "hi")  # no budget: nothing to bound


def _request(api: ModelsAPI, model: str, prompt: object, system: str | None = None, **params: object) -> Request:
    service = api._service
    target = service.target(model)
    return service.request(target, prompt, system, service.prepare(target, params))


def test_the_input_bound_counts_utf8_bytes_framing_and_structured_options(api: ModelsAPI) -> None:
    request = _request(api, "gpt-4o", "héllo", system="Be brief.")  # 6 bytes; 9 bytes
    assert input_bound(request) == 8 * 3 + 6 + 9
    turns = [{"role": "user", "content": [{"type": "text", "text": "日本"}]}, {"role": "assistant", "content": "ok"}]
    assert input_bound(_request(api, "gpt-4o", turns)) == 8 * 4 + 6 + 2
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    with_tools = _request(api, "gpt-4o", "hi", tools=tools)
    # what is sent: the tool made strict, its empty parameters spelt out as an object (SPEC §8)
    sent = '{"type": "object", "properties": {}, "required": [], "additionalProperties": false}'
    json_bytes = len(f'[{{"type": "function", "function": {{"name": "f", "parameters": {sent}, "strict": true}}}}]')
    assert input_bound(with_tools) == 26 + json_bytes + 1024
    assert input_bound(_request(api, "gpt-4o", "a" * 200_000)) == 128_000
    image = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    assert input_bound(_request(api, "gpt-4o", [{"role": "user", "content": image}])) == 128_000


def test_the_output_bound_is_what_is_sent_times_the_answers_asked_for(api: ModelsAPI) -> None:
    assert output_bound(_request(api, "gpt-4o", "hi")) == 16_384
    assert output_bound(_request(api, "gpt-4o", "hi", max_tokens=100, n=3)) == 300
    assert output_bound(_request(api, "o3", "hi", max_tokens=100)) == 100  # sent as max_completion_tokens
    assert output_bound(_request(api, "gemini-2.5-flash", "hi", max_tokens=70)) == 70
    assert output_bound(_request(api, "claude-3-5-haiku-latest", "hi")) == 4096
