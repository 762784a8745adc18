"""Catalog rows a user adds: `models.register_model(...)` and the `MODELS_CATALOG` JSON file.

Each row is checked once, when it is registered or its file is read, and becomes a `ModelInfo`
like a built-in row (plus, when it has one, a price the price book reads by id from
`Catalog.prices`), so resolution, `info`, `list`, `cheapest`, `search`, routers and capability
checks treat it as they treat the built-in rows.

What a row leaves out comes from where it starts:
- with `base` (the catalog model it is: an Azure deployment, a Bedrock inference profile), from
  that model: limits, capabilities, price, display name and quality tier (not its aliases or
  lifecycle);
- else from the row of the same id it replaces (a built-in row, or a file row under a row
  registered in code), lifecycle and aliases included: registering `openai/gpt-4o` with a price
  changes only its price;
- else nothing: unknown limits and no capability data, so nothing is refused before sending.
A list of capabilities given is the whole list (text input implied); `large_context` and
`xl_context` follow the context window. Values are copied when the row is made.

Bad arguments raise `TypeError` / `ValueError` naming the argument (`ProviderNotFoundError` for an
unknown provider), as `configure` and `register_provider` do; `read_file` turns each into a
`ConfigurationError` naming the file, the row (index and id) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from .._costs import FIELDS, Price, make_price, parse_rate
from .._display import brief
from ..errors import ConfigurationError, ModelNotFoundError, ModelsError, ProviderNotFoundError
from .catalog import PROVIDER_ALIASES, Catalog, RowPrice
from .info import Capability, ModelInfo, with_context_capabilities

__all__ = ["KEYS", "Row", "make_row", "read_file"]

KEYS = ("context_window", "max_output", "capabilities", "price", "aliases", "base")
"""What a row may give besides its `id`: `register_model`'s keywords, a `MODELS_CATALOG` row's keys."""
_DESCRIBED = ("display_name", "release_date", "knowledge_cutoff", "quality_tier")
"""What a row takes from where it starts besides limits and capabilities."""
_SIZE_FLAGS = frozenset({Capability.LARGE_CONTEXT, Capability.XL_CONTEXT})
_PRICE_EXAMPLE = "{'input': 0.5, 'output': 1.5} (USD per 1M tokens)"


class _Number(Decimal):
    """A JSON number with a fraction or exponent, read exactly, shown as written in a message."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class Row(NamedTuple):
    """A registered row, and its price (None: the built-in price rows of its own id, if any)."""

    info: ModelInfo
    price: RowPrice | None


def _hint(close: Sequence[str]) -> str:
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def _close(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a mistake gets here

    return _hint(difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6))


def _canonical(model_id: object, catalog: Catalog, providers: Collection[str]) -> tuple[str, str]:
    """(provider, name) of a canonical `provider/name` id; a bare id is refused with its fix."""
    if not isinstance(model_id, str):
        raise TypeError(f"id must be a str like 'ollama/llama3.2', not {type(model_id).__name__}")
    provider, slash, name = model_id.strip().partition("/")
    if not slash:
        try:
            fix = catalog.resolve(model_id, providers).id
        except (ModelNotFoundError, ProviderNotFoundError, TypeError):
            fix = f"<provider>/{model_id.strip()}"
        raise ValueError(
            f"id must be a canonical 'provider/name' id (it says which provider serves the model), like {fix!r}, "
            f"not {model_id!r}; providers: {', '.join(sorted(providers))}"
        )
    provider = PROVIDER_ALIASES.get(provider.lower(), provider.lower())
    if provider not in providers:
        raise ProviderNotFoundError(provider, providers)
    if not all(part and part == part.strip() for part in name.split("/")):
        raise ValueError(f"id {model_id!r} has an empty or space-padded part; write 'provider/name'")
    return provider, name


def _tokens(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int (tokens), not {brief(value)}")
    if value <= 0:
        raise ValueError(f"{field} must be a number of tokens > 0, not {value}")
    return value


def _names(field: str, value: object, example: str) -> list[object]:
    """The items of a list argument; one string is refused (it would be read letter by letter)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{field} must be a list like {example}, not {brief(value)}")
    return list(value)


def _capabilities(value: object) -> frozenset[Capability]:
    items = _names("capabilities", value, "['function_calling', 'image_input']")
    try:
        given = {Capability(item) for item in items}
    except ValueError as exc:
        raise ValueError(f"capabilities: {exc}") from None
    return frozenset(given | {Capability.TEXT_INPUT})  # a list given is capability data: text input marks it


def _price(value: object, source: str | None) -> Price:
    if not isinstance(value, Mapping):
        raise TypeError(f"price must be a dict like {_PRICE_EXAMPLE}, not {brief(value)}")
    for key in value:
        if key not in FIELDS:
            raise ValueError(f"price: unknown field {brief(key)}{_close(str(key), FIELDS)}; use {', '.join(FIELDS)}")
    missing = [f for f in ("input", "output") if f not in value]
    if missing:
        raise ValueError(
            f"price needs {' and '.join(map(repr, missing))} (USD per 1M tokens); the cache rates default to input"
        )
    rates = {f: parse_rate(v, f"price[{f!r}]") for f, v in value.items()}
    return make_price(rates, source=source, origin="registered")


def _aliases(value: object, provider: str, model_id: str, catalog: Catalog) -> tuple[str, ...]:
    found: list[str] = []
    for alias in () if value is None else _names("aliases", value, "['llama', 'local']"):
        if not isinstance(alias, str) or not alias.strip() or alias != alias.strip() or "/" in alias:
            raise ValueError(f"aliases: each must be a name without '/' or padding, like 'llama', not {brief(alias)}")
        other = catalog.row(f"{provider}/{alias}")
        if other is not None and other.id.lower() != model_id.lower():
            raise ValueError(f"aliases: {alias!r} would hide the catalog model {other.id}")
        if alias not in found:
            found.append(alias)
    return tuple(found)


def _base(value: object, catalog: Catalog, providers: Collection[str]) -> ModelInfo:
    if not isinstance(value, str):
        raise TypeError(f"base must be a catalog model id like 'openai/gpt-4o', not {brief(value)}")
    try:
        row = catalog.resolve(value, providers)
    except ModelNotFoundError as exc:
        raise ValueError(f"base {value!r} is not a catalog model{_hint(exc.suggestions)}") from None
    except ProviderNotFoundError as exc:
        raise ValueError(f"base {value!r} is not a catalog model: {exc}") from None
    if not row.known or row.base is not None:
        hint = _hint(catalog.suggest(row.name) if not row.known else [])
        raise ValueError(
            f"base {value!r} is not a catalog model{hint}: a fine-tune or an unknown id has nothing to copy; "
            "give context_window, max_output, capabilities and price instead, or register it first"
        )
    return row


def make_row(
    model_id: object,
    fields: Mapping[str, object],
    catalog: Catalog,
    below: Catalog,
    providers: Collection[str],
    source: str | None = None,
) -> Row:
    """Check one row and make it (see the module doc). `fields` are some of `KEYS` (None: not given);
    `catalog` is what `base` and aliases are checked against; `below` holds the row of the same id it
    replaces, if any; `source` is where its price was given (the file), for `Price.source`."""
    context_window, max_output, capabilities, price, aliases, base = (fields.get(key) for key in KEYS)
    provider, name = _canonical(model_id, catalog, providers)
    canonical = f"{provider}/{name}"
    same = below.row(canonical)
    start = _base(base, catalog, providers) if base is not None else same

    def given_or_start(value: object, attr: str) -> object:
        return getattr(start, attr) if value is None and start is not None else value

    window = _tokens("context_window", given_or_start(context_window, "context_window"))
    most = _tokens("max_output", given_or_start(max_output, "max_output"))
    if window is not None and most is not None and most > window:
        raise ValueError(f"max_output ({most}) cannot exceed context_window ({window})")
    caps = _capabilities(capabilities) if capabilities is not None else start.capabilities if start else frozenset()
    caps = with_context_capabilities(caps - _SIZE_FLAGS, window)
    row_price: RowPrice | None
    if price is not None:
        row_price = _price(price, source)
    elif base is not None and start is not None:  # the base's price: its own, or its built-in rows
        row_price = catalog.prices.get(start.id, start.id)
    else:
        row_price = below.prices.get(same.id) if same is not None else None
    kept = {f: getattr(start, f) for f in _DESCRIBED} if start is not None else {}  # what the model is
    if same is not None:  # where the row it replaces is in its life
        kept.update(status=same.status, sunset=same.sunset, replacement=same.replacement)
    names = (*(same.aliases if same is not None else ()), *_aliases(aliases, provider, canonical, catalog))
    info = ModelInfo(
        canonical,
        provider,
        name,
        tuple(dict.fromkeys(names)),
        window,
        most,
        Capability.REASONING in caps,
        capabilities=caps,
        **kept,
    )
    return Row(info, row_price)


def read_file(path: str, catalog: Catalog, providers: Collection[str]) -> list[Row]:
    """The rows of a `MODELS_CATALOG` file (a JSON list of objects with `id` and some of `KEYS`),
    each made over `catalog` and the file's rows before it; anything wrong raises
    `ConfigurationError` naming the file, the row and the field."""
    import os

    where = f"MODELS_CATALOG file {path!r}"
    try:
        with open(os.path.expanduser(path), "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ConfigurationError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        table = json.loads(data.decode("utf-8-sig"), parse_float=_Number)
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ConfigurationError(f"{where} is nested too deeply to be a catalog") from None
    if not isinstance(table, list):
        raise ConfigurationError(
            f'{where}: expected a list of objects like [{{"id": "ollama/llama3.2", "context_window": 131072}}]'
        )
    rows: list[Row] = []
    current = catalog
    seen: dict[str, int] = {}
    for index, item in enumerate(table):
        at = f"{where}, row {index}"
        if not isinstance(item, dict):
            raise ConfigurationError(f"{at}: expected an object with 'id' and some of {', '.join(KEYS)}")
        if isinstance(item.get("id"), str):
            at += f" (id {item['id']!r})"
        for key in item:
            if key != "id" and key not in KEYS:
                keys = ("id", *KEYS)
                raise ConfigurationError(
                    f"{at}: unknown key {brief(key)}{_close(str(key), keys)}; use {', '.join(keys)}"
                )
        if "id" not in item:
            raise ConfigurationError(f"{at}: missing 'id' (a canonical 'provider/name' like 'ollama/llama3.2')")
        fields = {key: item.get(key) for key in KEYS}  # null: not given
        try:
            row = make_row(item["id"], fields, current, catalog, providers, path)
        except (TypeError, ValueError, ModelsError) as exc:
            raise ConfigurationError(f"{at}: {exc}") from None
        key = row.info.id.lower()
        if key in seen:
            raise ConfigurationError(f"{at}: the same model as row {seen[key]}; give each model one row")
        seen[key] = index
        rows.append(row)
        current = current.extended([row])  # a later row may name it as its base
    return rows
