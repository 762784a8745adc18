"""Model ids made up on the fly (one per fine-tune, per customer, ...) must not grow memory
without bound: every structure that keeps something per id has a cap, and the totals stay exact."""

from __future__ import annotations

import warnings

from models import ModelsAPI
from models._call.outcomes import _MAX_WARNED, ModelsWarning
from models._call.service import _TARGET_CACHE_SIZE
from models._observe.health import MAX_MODELS
from models._observe.usage import MAX_OTHER_IDS, OTHER
from models._pricing.book import _CACHE_SIZE

IDS = 20_000


def test_twenty_thousand_unknown_ids_stay_within_every_cap(api: ModelsAPI) -> None:
    assert (_TARGET_CACHE_SIZE, _CACHE_SIZE, MAX_OTHER_IDS, _MAX_WARNED, MAX_MODELS) == (1024,) * 5
    api.health()  # on: every call records its model's outcome
    registry = globals().setdefault("__warningregistry__", {})
    registry.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # the default action: each distinct text is remembered
        for i in range(IDS):
            assert api(f"mock/m{i}", "a b").text == "a b"  # mock ids are outside the catalog, unpriced
    service = api._service
    # targets and prices: the most recent 1024
    assert len(service._targets) == 1024
    assert "mock/m19999" in service._targets and "mock/m18975" not in service._targets
    assert len(service.prices._cache) == 1024
    # usage: the first 1024 ids have their own entry, the rest add up under "other"
    usage = api.usage()
    assert len(service.ledger._by_model) == len(usage) == 1025
    assert usage["mock/m0"].requests == usage["mock/m1023"].requests == 1
    assert "mock/m1024" not in usage
    assert usage[OTHER].requests == IDS - 1024
    assert usage[OTHER].input_tokens == 2 * (IDS - 1024)
    assert sum(u.requests for u in usage.values()) == IDS
    # health: the most recently recorded 1024
    health = api.health()
    assert len(health) == 1024
    assert "mock/m19999" in health and "mock/m18976" in health and "mock/m18975" not in health
    # metric labels, as before: 100 ids, then "other"
    assert len(service._extra_labels) == 100
    assert len(service.metrics()._children) == 101
    # one warning per model up to 1024, then one that says the rest are not shown
    assert len(service._warned) == 1025
    messages = [str(w.message) for w in caught if w.category is ModelsWarning]
    assert len(messages) == 1025
    assert messages[0].startswith("mock/m0 has no price, so usage.cost is None.")
    assert messages[-1].startswith("mock/m1024 has no price")
    assert messages[-1].endswith("(Over 1024 models were warned about: later warnings like this are not shown.)")
    assert len([key for key in registry if key != "version"]) == 1025


def test_calls_to_a_model_past_the_caps_still_count_exactly(api: ModelsAPI) -> None:
    service = api._service
    for i in range(MAX_OTHER_IDS):
        service.target(f"mock/filler-{i}")
    late = api.bind("mock/late")  # its totals are the shared "other" entry
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            late("a b c")
    assert [str(w.message)[:30] for w in caught] == ["mock/late has no price, so usa"]  # once, not per call
    assert list(api.usage()) == [OTHER]  # the fillers made no calls
    assert (api.usage()[OTHER].requests, api.usage()[OTHER].input_tokens) == (3, 9)
