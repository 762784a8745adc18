// The gateway's page: everything from the JSON API with the key typed in (kept in sessionStorage,
// never written into the page). No framework, no build step; text goes in with textContent only.
"use strict";
(() => {
  const STORE = "models-gateway-key";
  const REFRESH_MS = 5000;
  const COLORS = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
    "#8c6d31", "#7f7f7f", "#6a3d9a", "#b15928", "#1b9e77", "#e7298a",
  ];
  const $ = (id) => document.getElementById(id);
  const int = new Intl.NumberFormat("en-US");
  let key = sessionStorage.getItem(STORE) || "";
  let models = [];
  let sort = { field: null, dir: 1 };
  let timer = null;
  let usageShown = false;
  let lastSpend = null;

  // -- formatting ---------------------------------------------------------------------------
  function usd(x) {
    if (x === null || x === undefined) return "unknown";
    if (x >= 1) return "$" + x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    let s = x.toLocaleString("en-US", { maximumSignificantDigits: 6 });
    const dot = s.indexOf(".");
    if (dot < 0) s += ".00";
    else if (s.length - dot < 3) s += "0";
    return "$" + s;
  }
  const price = (x) =>
    x === null || x === undefined ? "–" : "$" + x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
  // the chart's top: the spend rounded up to 1, 2, 2.5 or 5 times a power of ten
  function nice(top) {
    const unit = 10 ** Math.floor(Math.log10(top));
    return [1, 2, 2.5, 5, 10].find((m) => m * unit >= top * (1 - 1e-9)) * unit;
  }
  const tokens = (n) => (n === null || n === undefined ? "–" : int.format(n));
  const clock = (t) => new Date(t * 1000).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  const stamp = (t) => new Date(t * 1000).toLocaleTimeString("en-GB");

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    for (const [text, cls, title] of cells) {
      const td = el("td", text, cls);
      if (title) td.title = title;
      tr.append(td);
    }
    return tr;
  }
  function fill(table, rows, empty, columns) {
    const body = $(table).tBodies[0];
    if (!rows.length) {
      const td = el("td", empty, "empty");
      td.colSpan = columns;
      const tr = document.createElement("tr");
      tr.append(td);
      rows = [tr];
    }
    body.replaceChildren(...rows);
  }
  function say(text) {
    $("status").textContent = text;
  }

  // -- the JSON API ---------------------------------------------------------------------------
  // Paths relative to the page, so that a gateway behind a proxy under a prefix (/gateway/) works too.
  async function api(path) {
    const headers = key ? { Authorization: "Bearer " + key } : {};
    const r = await fetch(path, { headers, cache: "no-store" });
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((body && body.error && body.error.message) || r.status + " " + r.statusText);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  // What a failed request means to the reader: no key yet, a key the gateway refuses, or another failure.
  function refusal(err, what) {
    if (err.status !== 401) return `Could not load ${what}: ${err.message}`;
    return key ? "The gateway refused this key: " + err.message : `Enter a gateway key to see ${what}.`;
  }

  // -- the catalog ----------------------------------------------------------------------------
  async function loadModels() {
    try {
      models = (await api("v1/models")).data;
    } catch (err) {
      models = [];
      fill("models-table", [], refusal(err, "the models"), 7);
      $("model-count").textContent = "";
      return false;
    }
    const caps = new Set();
    for (const m of models) for (const c of m.capabilities || []) caps.add(c);
    const select = $("cap");
    const chosen = select.value;
    const option = (value, text) => Object.assign(el("option", text), { value });
    select.replaceChildren(option("", "Any"), ...[...caps].sort().map((c) => option(c, c.replace(/_/g, " "))));
    select.value = caps.has(chosen) ? chosen : "";
    renderModels();
    return true;
  }

  function sortValue(m, field) {
    if (field === "input" || field === "output") return m.pricing ? m.pricing[field] : null;
    return m[field];
  }

  function renderModels() {
    const words = $("q").value.toLowerCase().split(/\s+/).filter(Boolean);
    const cap = $("cap").value;
    const maxText = $("max-price").value;
    const max = maxText === "" ? null : Number(maxText);
    const everyStatus = $("all-status").checked;
    let shown = models.filter((m) => {
      const hay = (m.id + " " + m.owned_by).toLowerCase();
      if (!words.every((w) => hay.includes(w))) return false;
      if (!everyStatus && m.status !== "active") return false; // as models.list(): active models unless asked
      if (cap && !(m.capabilities || []).includes(cap)) return false;
      // like models.list(max_input_price=...): an unpriced model never passes a price filter
      if (max !== null && !(m.pricing && m.pricing.input !== null && m.pricing.input <= max)) return false;
      return true;
    });
    if (sort.field) {
      const f = sort.field;
      shown = shown.slice().sort((a, b) => {
        const x = sortValue(a, f);
        const y = sortValue(b, f);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1; // unknowns last either way
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * sort.dir;
      });
    }
    fill(
      "models-table",
      shown.map((m) => {
        const tr = row([
          [m.id, "id"],
          [m.owned_by],
          [tokens(m.context_window), "num"],
          [tokens(m.max_output), "num"],
          [price(m.pricing && m.pricing.input), "num"],
          [price(m.pricing && m.pricing.output), "num"],
          [(m.capabilities || []).join(", ").replace(/_/g, " "), "caps"],
        ]);
        if (m.status !== "active") tr.firstChild.append(" ", el("span", m.status, "badge"));
        return tr;
      }),
      "No model matches these filters.",
      7,
    );
    $("model-count").textContent = `Showing ${shown.length} of ${models.length} models`;
  }

  function sortable() {
    for (const th of document.querySelectorAll("#models-table th[data-sort]")) {
      const button = el("button", th.textContent, "sort");
      button.type = "button";
      th.replaceChildren(button);
      button.addEventListener("click", () => {
        const field = th.dataset.sort;
        sort = { field, dir: sort.field === field ? -sort.dir : 1 };
        for (const other of document.querySelectorAll("#models-table th[data-sort]")) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
        renderModels();
      });
    }
  }

  // -- spend and calls ------------------------------------------------------------------------
  // /api/usage: {"keys": {name: {requests, errors, input_tokens, output_tokens, cost_usd, budget_usd,
  // budget_period, spent_usd, models: {model: {requests, errors, input_tokens, output_tokens, cost_usd}}}}}
  const counts = (u) => [
    [tokens(u.requests), "num"],
    [tokens(u.errors), "num"],
    [tokens(u.input_tokens), "num"],
    [tokens(u.output_tokens), "num"],
  ];

  function budget(name, k) {
    const td = el("td", null, "budget");
    if (k.budget_usd === null || k.budget_usd === undefined) {
      td.append(el("span", "none", "muted"));
      return td;
    }
    const bar = el("progress");
    bar.max = k.budget_usd || 1;
    bar.value = Math.min(k.spent_usd || 0, bar.max);
    bar.setAttribute("aria-label", `budget of ${name} used`);
    const per = k.budget_period ? " a " + k.budget_period : "";
    td.append(bar, el("span", `${usd(k.spent_usd)} of ${usd(k.budget_usd)}${per}`));
    return td;
  }

  function renderUsage(usage) {
    const keys = Object.entries(usage.keys || {});
    const sum = (f) => keys.reduce((s, [, k]) => s + (k[f] || 0), 0);
    $("total-spend").textContent = usd(sum("cost_usd"));
    $("total-requests").textContent = tokens(sum("requests"));
    $("total-errors").textContent = tokens(sum("errors"));
    $("total-input").textContent = tokens(sum("input_tokens"));
    $("total-output").textContent = tokens(sum("output_tokens"));
    const table = $("usage-table");
    const groups = keys.map(([name, k]) => {
      const group = document.createElement("tbody");
      const head = row([[usd(k.cost_usd), "num", String(k.cost_usd)], ...counts(k)]);
      const th = el("th", name);
      th.scope = "rowgroup";
      head.prepend(th);
      head.insertBefore(budget(name, k), head.children[2]);
      head.className = "key-row";
      group.append(head);
      for (const [model, m] of Object.entries(k.models || {}))
        group.append(row([[model, "id model"], [usd(m.cost_usd), "num", String(m.cost_usd)], [""], ...counts(m)]));
      return group;
    });
    if (!groups.length) groups.push(document.createElement("tbody"));
    table.replaceChildren(table.caption, table.tHead, ...groups);
    if (!keys.length) fill("usage-table", [], "No keys.", 7);
  }

  function renderCalls(calls) {
    fill(
      "calls-table",
      calls.map((c) =>
        row([
          [stamp(c.time), "time", new Date(c.time * 1000).toISOString()],
          [c.key],
          [c.model + (c.stream ? " (stream)" : ""), "id"],
          [c.status, c.status === "ok" ? "ok" : "bad"],
          [tokens(c.input_tokens), "num"],
          [tokens(c.output_tokens), "num"],
          [usd(c.cost_usd), "num", c.cost_usd === null ? "no price known" : String(c.cost_usd)],
          [c.latency_ms.toLocaleString("en-US") + " ms", "num"],
        ]),
      ),
      "No calls yet.",
      8,
    );
  }

  // A stacked bar per minute, one colour per key and model, each part with a tooltip (its SVG title).
  function renderChart(spend) {
    const NS = "http://www.w3.org/2000/svg";
    lastSpend = spend;
    // drawn at the box's own width, so its text stays legible on a phone and a wide screen alike
    const W = Math.max(300, $("chart").clientWidth || 1000), H = 220, L = 70, R = 8, T = 10, B = 26;
    const slots = spend.minutes;
    const series = [...new Set(spend.spend.map((p) => p.key + " · " + p.model))].sort();
    const color = (name) => COLORS[series.indexOf(name) % COLORS.length];
    const stacks = new Array(slots).fill(0);
    for (const p of spend.spend) stacks[(p.minute - spend.since) / 60] += p.cost_usd;
    const top = nice(Math.max(...stacks) || 1e-6);
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-labelledby", "chart-caption");
    const add = (tag, attrs, text) => {
      const node = document.createElementNS(NS, tag);
      for (const [a, v] of Object.entries(attrs)) node.setAttribute(a, v);
      if (text !== undefined) node.textContent = text;
      svg.append(node);
      return node;
    };
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const step = (W - L - R) / slots;
    for (const v of [0, top / 2, top]) {
      add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" });
      add("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, usd(v));
    }
    for (let i = 0; i < slots && L + i * step < W - R - 70; i += 15) // clear of "now"
      add("text", { x: L + i * step, y: H - 8, class: "axis" }, clock(spend.since + i * 60));
    add("text", { x: W - R, y: H - 8, class: "axis", "text-anchor": "end" }, "now");
    const base = new Array(slots).fill(0);
    for (const p of spend.spend) {
      const i = (p.minute - spend.since) / 60;
      const name = p.key + " · " + p.model;
      const h = ((H - T - B) * p.cost_usd) / top;
      const rect = add("rect", {
        x: L + i * step + 1,
        y: y(base[i]) - h,
        width: Math.max(step - 2, 1),
        height: Math.max(h, p.calls ? 1 : 0),
        fill: color(name),
      });
      base[i] += p.cost_usd;
      const title = document.createElementNS(NS, "title");
      const unpriced = p.unpriced ? `, ${p.unpriced} without a price` : "";
      title.textContent = `${clock(p.minute)} ${name}: ${usd(p.cost_usd)}, ${p.calls} calls${unpriced}`;
      rect.append(title);
    }
    $("chart").replaceChildren(svg);
    $("chart-caption").textContent = `Spend per key and model, per minute, last ${slots} minutes (this worker)`;
    const totals = {};
    const unpriced = {};
    for (const p of spend.spend) {
      const name = p.key + " · " + p.model;
      totals[name] = (totals[name] || 0) + p.cost_usd;
      unpriced[name] = (unpriced[name] || 0) + p.unpriced;
    }
    $("legend").replaceChildren(
      ...series.map((name) => {
        const li = el("li");
        const swatch = el("span", null, "swatch");
        swatch.style.background = color(name);
        const amount = usd(totals[name]) + (unpriced[name] ? ` + ${unpriced[name]} calls without a price` : "");
        li.append(swatch, el("span", name), el("span", amount, "muted"));
        return li;
      }),
    );
    if (!series.length) $("legend").replaceChildren(el("li", "No calls in this window.", "muted"));
  }

  // Tried without a key too: a gateway serving without keys (--no-auth) shows everything to anyone.
  async function loadUsage() {
    let note = "";
    try {
      const [usage, spend, calls] = await Promise.all([api("api/usage"), api("api/spend"), api("api/calls")]);
      renderUsage(usage);
      renderChart(spend);
      renderCalls(calls.data);
      say("Updated " + new Date().toLocaleTimeString("en-GB"));
    } catch (err) {
      note =
        err.status === 403 ? "Spend and recent calls are shown to admin keys only." : refusal(err, "spend and recent calls");
      say("");
    }
    usageShown = !note;
    $("spend-note").textContent = note;
    $("spend-note").hidden = usageShown;
    $("spend-body").hidden = !usageShown;
    $("calls").hidden = !usageShown;
  }

  // -- the key and refreshing -----------------------------------------------------------------
  function schedule() {
    clearInterval(timer);
    timer = null;
    if (usageShown && $("auto").checked) timer = setInterval(() => document.hidden || loadUsage(), REFRESH_MS);
  }

  async function refresh() {
    $("key-form").hidden = Boolean(key);
    $("key-set").hidden = !key;
    await Promise.all([loadModels(), loadUsage()]);
    schedule();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    key = $("key").value.trim();
    $("key").value = ""; // the secret stays in sessionStorage only, never in the page
    sessionStorage.setItem(STORE, key);
    refresh().then(() => $("refresh").focus());
  });
  $("forget").addEventListener("click", () => {
    key = "";
    sessionStorage.removeItem(STORE);
    refresh().then(() => $("key").focus());
  });
  $("refresh").addEventListener("click", () => refresh());
  $("auto").addEventListener("change", schedule);
  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => lastSpend && renderChart(lastSpend));
  });
  for (const id of ["q", "cap", "max-price", "all-status"]) $(id).addEventListener("input", renderModels);
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  sortable();
  refresh();
})();
