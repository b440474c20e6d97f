// The migration dashboard's client: plain JavaScript served as is (no build step, no CDN). Everything
// it shows comes from the admin API, and every value is rendered with textContent: a route id or a
// response body that holds HTML is shown as text, never run. Controls call the same admin API as the
// CLI, so every change is audited like any other.

const REFRESH_MS = 2000;
const app = document.getElementById("app");
const updated = document.getElementById("updated");
let timer = undefined;

/** Creates an element; children are nodes or strings (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: init.body ? { "content-type": "application/json" } : {},
    credentials: "same-origin",
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
const ms = (x) => (x === null || x === undefined ? "–" : `${x} ms`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function message(text, isError = false) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "message error" : "message";
}

/** Runs an audited change after the operator confirmed it and gave a reason. */
async function change(description, path, body) {
  if (!body.reason || !body.reason.trim()) return message("A reason is required: every change is audited.", true);
  if (!window.confirm(`${description}\nReason: ${body.reason}`)) return;
  try {
    await api(path, { method: path.endsWith("/rollout") ? "PUT" : "POST", body: JSON.stringify(body) });
    message(`Done: ${description}`);
    await render();
  } catch (error) {
    message(`Refused: ${error.message}`, true);
  }
}

function controlsPanel(routes) {
  const select = el("select", { id: "route" }, routes.map((r) => el("option", { value: r.id }, r.id)));
  const percent = el("input", { id: "percent", type: "number", min: "0", max: "100", step: "0.01", placeholder: "0–100" });
  const reason = el("input", { id: "reason", type: "text", placeholder: "why (audited)", size: "32" });
  const selected = () => select.value;
  return el(
    "div",
    { class: "controls", id: "controls" },
    el("label", {}, "Route", select),
    el("label", {}, "Percentage", percent),
    el("label", {}, "Reason", reason),
    el("button", { id: "apply", class: "primary", onclick: () => change(`Set ${selected()} to ${percent.value}%`, `/api/routes/${encodeURIComponent(selected())}/rollout`, { percent: Number(percent.value), reason: reason.value }) }, "Set percentage"),
    el("button", { id: "rollback", class: "danger", onclick: () => change(`Roll ${selected()} back to 0%`, `/api/routes/${encodeURIComponent(selected())}/rollback`, { reason: reason.value }) }, "Rollback"),
    el("button", { id: "pause", onclick: () => change(`Pause the promotion of ${selected()}`, `/api/routes/${encodeURIComponent(selected())}/promotion/pause`, { reason: reason.value }) }, "Pause promotion"),
    el("button", { id: "resume", onclick: () => change(`Resume the promotion of ${selected()}`, `/api/routes/${encodeURIComponent(selected())}/promotion/resume`, { reason: reason.value }) }, "Resume promotion"),
  );
}

function progressPanel(progress) {
  const share = progress.servedByServices;
  return el(
    "div",
    { class: "progress", id: "progress" },
    el("div", {}, el("div", { class: "figure", id: "progress-figure" }, share === null ? "–" : pct(share)), el("div", { class: "muted" }, "of the last 5 minutes' traffic served by extracted services")),
    el("progress", { class: "bar", max: "100", value: String(share === null ? 0 : Math.round(share * 100)) }),
    el("div", { class: "states" }, Object.entries(progress.states).map(([state, n]) => el("span", {}, el("span", { class: `badge ${state}` }, state), ` ${n}`))),
  );
}

/** The nodes serving this migration (one on SQLite; the fleet on PostgreSQL), and which one judges. */
function fleetPanel(fleet) {
  const seconds = (t) => `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`;
  return el(
    "details",
    { class: "fleet", id: "fleet" },
    el(
      "summary",
      {},
      `${fleet.nodes.length} node${fleet.nodes.length === 1 ? "" : "s"} on ${fleet.store === "postgres" ? "PostgreSQL" : "SQLite"} · `,
      fleet.judge ? el("span", { id: "fleet-judge" }, `judge ${fleet.judge}`) : el("span", { class: "bad", id: "fleet-judge" }, "no judge: guards and promotion wait for one"),
    ),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Node", "Address", "Version", "Up since", "Last seen", ""].map((h) => el("th", {}, h)))),
      el(
        "tbody",
        {},
        fleet.nodes.map((n) =>
          el(
            "tr",
            { "data-node": n.nodeId },
            el("td", {}, n.nodeId, n.self ? el("span", { class: "muted" }, " (this node)") : null),
            el("td", {}, n.address),
            el("td", {}, n.version),
            el("td", {}, when(new Date(n.startedAt).toISOString())),
            el("td", { class: "num" }, seconds(n.lastSeen)),
            el("td", {}, n.judge ? el("span", { class: "badge judge" }, "judge") : null),
          ),
        ),
      ),
    ),
  );
}

function sideCells(s) {
  return [
    el("td", { class: "num" }, `${s.rps}/s`),
    el("td", { class: `num ${s.errorRate > 0 ? "bad" : ""}` }, pct(s.errorRate)),
    el("td", { class: "num" }, `${ms(s.p50Ms)} / ${ms(s.p99Ms)}`),
  ];
}

function routesTable(routes) {
  const head = ["Route", "Match", "State", "Live % (config)", "Legacy rps", "err", "p50 / p99", "Service rps", "err", "p50 / p99", "Shadow match (n)", "Top divergences", "Noise", "Last change"];
  return el(
    "table",
    { id: "routes" },
    el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      routes.map((r) =>
        el(
          "tr",
          { "data-route": r.id },
          el("td", {}, el("a", { href: `#/route/${encodeURIComponent(r.id)}` }, r.id)),
          el("td", {}, `${r.match.methods === "*" ? "*" : r.match.methods.join(",")} ${r.match.path}`, el("div", { class: "muted" }, `${r.legacy} → ${r.target}`)),
          el("td", {}, el("span", { class: `badge ${r.state ?? ""}` }, r.state ?? "–"), r.promotion && r.promotion.status !== "off" ? el("div", { class: "muted" }, `promotion ${r.promotion.status}`) : null),
          r.rollout.source === "provider"
            ? // An external provider owns the split: show what it decided lately, not a number it ignores.
              el("td", { class: "num live-percent", title: `observed over the last ${r.rollout.observed.windowSeconds / 60} min` }, r.rollout.livePercent === null ? "–" : `~${r.rollout.livePercent}%`, el("span", { class: "muted" }, ` provider, ${r.rollout.observed.decisions} decisions`))
            : el("td", { class: "num live-percent" }, `${r.rollout.livePercent}%`, el("span", { class: "muted" }, ` (${r.rollout.configuredPercent}%)`)),
          ...sideCells(r.traffic.legacy),
          ...sideCells(r.traffic.target),
          el("td", { class: "num" }, r.shadow ? `${pct(r.shadow.matchRate)} (${r.shadow.compared})` : "off"),
          el("td", {}, r.shadow ? r.shadow.topDivergences.map((d) => el("div", { class: "divergence" }, `${d.kind} ${d.path} ×${d.count}`)) : null),
          el("td", {}, r.shadow ? r.shadow.noise.map((n) => el("div", { class: "muted" }, n)) : null),
          el("td", {}, r.lastChange ? [el("div", {}, when(r.lastChange.at)), el("div", { class: "muted" }, `${r.lastChange.by}: ${r.lastChange.reason}`)] : null),
        ),
      ),
    ),
  );
}

/** A step line of the percentage over time, and the match rate per minute, as inline SVG. */
function chart(history) {
  const width = 720;
  const height = 160;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("id", "history-chart");
  const end = Date.now();
  const start = end - history.hours * 3600_000;
  const x = (t) => 40 + ((t - start) / (end - start)) * (width - 50);
  const y = (p) => height - 20 - (p / 100) * (height - 30);
  const line = (points, color) => {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", points.map(([px, py], i) => `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`).join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", color);
    path.setAttribute("stroke-width", "2");
    svg.append(path);
  };
  const label = (text, lx, ly) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", String(lx));
    t.setAttribute("y", String(ly));
    t.textContent = text;
    svg.append(t);
  };
  for (const p of [0, 50, 100]) label(`${p}%`, 4, y(p) + 4);
  const steps = [];
  let last = history.percent.length > 0 ? history.percent[0].percent : history.currentPercent ?? 0;
  steps.push([x(start), y(last)]);
  for (const point of history.percent) {
    const t = Date.parse(point.at);
    steps.push([x(t), y(last)], [x(t), y(point.percent)]);
    last = point.percent;
  }
  steps.push([x(end), y(history.currentPercent ?? last)]);
  line(steps, "#344eba");
  const rates = history.matchRate.filter((m) => m.compared > 0).map((m) => [x(m.minute * 60_000), y((m.match / m.compared) * 100)]);
  if (rates.length > 0) line(rates, "#027a48");
  label("— live % (blue)", width - 330, 14);
  label("— shadow match rate (green)", width - 200, 14);
  return svg;
}

/** Pretty JSON when it is JSON, with the lines of differing fields marked. */
function bodyBlock(text, paths) {
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as it came
  }
  const keys = paths.map((p) => p.split(/[.[\]"]+/).filter(Boolean).pop()).filter(Boolean);
  return el("pre", {}, pretty.split("\n").map((line) => el("span", { class: keys.some((k) => line.includes(`"${k}"`)) ? "hit" : "" }, `${line}\n`)));
}

async function renderRoute(id) {
  const [route, divergences, history] = await Promise.all([
    api(`/api/routes/${encodeURIComponent(id)}/migration`),
    api(`/api/routes/${encodeURIComponent(id)}/divergences?examples=2`),
    api(`/api/routes/${encodeURIComponent(id)}/history?hours=6`),
  ]);
  const acknowledge = (signature, status) => {
    const reason = window.prompt(`Why is ${signature.kind} ${signature.path} ${status}?`) ?? "";
    return change(`Mark ${signature.kind} ${signature.path} as ${status}`, `/api/divergences/${signature.id}/acknowledge`, { status, reason });
  };
  return el(
    "div",
    { id: "route-page" },
    el("p", {}, el("a", { href: "#/" }, "← all routes")),
    el("div", { id: "message", class: "message" }),
    el("section", {}, el("h2", {}, `Route ${id}`), el("p", {}, "State ", el("span", { class: `badge ${route.state}` }, route.state), ` · promotion ${route.promotion} · live ${history.currentPercent}%`)),
    el("section", {}, el("h2", {}, "Rollout and match rate, last 6 hours"), chart(history)),
    el(
      "section",
      { id: "divergences" },
      el("h2", {}, `Open divergences (${divergences.signatures.length})`),
      divergences.signatures.length === 0 ? el("p", { class: "muted" }, "None: the service answers like the monolith, or nothing was compared yet.") : null,
      divergences.signatures.map((s) =>
        el(
          "div",
          { class: "signature" },
          el("strong", {}, `${s.kind} ${s.path}`),
          ` ×${s.count} · last ${when(s.lastSeen)} `,
          el("button", { onclick: () => acknowledge(s, "fixed") }, "Fixed"),
          " ",
          el("button", { onclick: () => acknowledge(s, "accepted") }, "Accepted (intended)"),
          s.examples.map((e) =>
            el(
              "div",
              { class: "example" },
              el("p", { class: "muted" }, `${e.method} ${e.path}${e.query ? `?${e.query}` : ""} · legacy ${e.legacyStatus} in ${e.legacyMs} ms · service ${e.targetStatus} in ${e.targetMs} ms`),
              el("ul", { class: "diff" }, e.diff.map((line) => el("li", {}, line))),
              el("div", { class: "pair" }, el("div", {}, el("div", { class: "muted" }, "legacy"), bodyBlock(e.legacyBody, e.differences.map((d) => d.path))), el("div", {}, el("div", { class: "muted" }, "service"), bodyBlock(e.targetBody, e.differences.map((d) => d.path)))),
            ),
          ),
        ),
      ),
    ),
    el(
      "section",
      {},
      el("h2", {}, "Audit trail"),
      el("table", {}, el("tbody", {}, history.audit.map((a) => el("tr", {}, el("td", {}, when(a.at)), el("td", {}, a.actor), el("td", {}, a.action), el("td", {}, a.reason))))),
    ),
  );
}

/** The migration map: the monolith's endpoints by traffic, coloured by who serves them, and where to cut next. */
async function renderMap() {
  const [map, suggest, overview] = await Promise.all([api("/api/map?hours=24"), api("/api/map/suggest?hours=24&limit=3"), api("/api/overview")]);
  const stateOf = new Map(overview.routes.map((r) => [r.id, r.state ?? "legacy"]));
  const widest = Math.max(...map.rows.map((r) => r.share), 0.0001);
  return el(
    "div",
    { id: "map-page" },
    el("p", {}, el("a", { href: "#/" }, "← all routes")),
    el(
      "div",
      { class: "progress", id: "map-summary" },
      el("div", {}, el("div", { class: "figure" }, map.servedByServices === null ? "–" : pct(map.servedByServices)), el("div", { class: "muted" }, "of the last 24 hours' requests served by extracted services")),
      el("div", {}, `${map.templates.claimed} of ${map.templates.total} endpoints claimed by a route · ${map.requests} requests`, map.overflow ? el("span", { class: "bad" }, ` · ${map.overflow} past the map's bound`) : null),
    ),
    el(
      "section",
      {},
      el("h2", {}, "Endpoints by traffic"),
      map.rows.length === 0 ? el("p", { class: "muted" }, "No traffic yet: send some (npm run traffic) and refresh.") : null,
      el(
        "table",
        { id: "map" },
        el("thead", {}, el("tr", {}, ["Endpoint", "Traffic", "Requests", "By services", "5xx", "p99", "Route", "Monolith last answered"].map((h) => el("th", {}, h)))),
        el(
          "tbody",
          {},
          map.rows.map((r) => {
            const state = r.route === null ? "unclaimed" : stateOf.get(r.route) ?? "legacy";
            return el(
              "tr",
              { "data-template": `${r.method} ${r.template}`, "data-state": state },
              el("td", {}, el("code", {}, `${r.method} ${r.template}`)),
              el("td", { class: "barcell" }, el("span", { class: `bar ${state}`, "data-width": String(Math.max(1, Math.round((r.share / widest) * 100))) }), ` ${pct(r.share)}`),
              el("td", { class: "num" }, String(r.requests)),
              el("td", { class: "num" }, pct(r.servedByServices)),
              el("td", { class: `num ${r.status["5xx"] > 0 ? "bad" : ""}` }, String(r.status["5xx"])),
              el("td", { class: "num" }, ms(r.p99Ms)),
              el("td", {}, r.route ? el("a", { href: `#/route/${encodeURIComponent(r.route)}` }, r.route) : el("span", { class: "muted" }, "monolith")),
              el("td", {}, r.lastMonolithAt ? when(r.lastMonolithAt) : "never"),
            );
          }),
        ),
      ),
    ),
    el(
      "section",
      { id: "suggestions" },
      el("h2", {}, "Where to cut next"),
      suggest.suggestions.length === 0 ? el("p", { class: "muted" }, "Every endpoint the monolith served is claimed by a route.") : null,
      suggest.suggestions.map((g) => el("div", { class: "signature" }, el("strong", {}, `${g.prefix}: ${pct(g.share)} of requests, ${g.templates.length} endpoints`), el("pre", {}, g.snippet))),
    ),
  );
}

async function renderOverview() {
  const [overview, fleet] = await Promise.all([api("/api/overview"), api("/api/fleet")]);
  const existing = document.getElementById("controls");
  // Keep the fleet list open across refreshes if the operator opened it.
  const fleetOpen = document.getElementById("fleet")?.open ?? false;
  const fleetView = fleetPanel(fleet);
  fleetView.open = fleetOpen;
  const page = el(
    "div",
    { id: "overview" },
    progressPanel(overview.progress),
    fleetView,
    // Keep the operator's half-typed form across refreshes.
    existing ?? controlsPanel(overview.routes),
    document.getElementById("message") ?? el("div", { id: "message", class: "message" }),
    routesTable(overview.routes),
  );
  return page;
}

async function render() {
  clearTimeout(timer);
  const hash = location.hash;
  try {
    const match = /^#\/route\/(.+)$/.exec(hash);
    const view = match ? await renderRoute(decodeURIComponent(match[1])) : hash === "#/map" ? await renderMap() : await renderOverview();
    // A refresh must not wipe what the operator is typing on the route page either.
    if (match && document.getElementById("route-page") && document.activeElement?.tagName === "INPUT") return;
    app.replaceChildren(view);
    // Bar widths are set through the CSSOM: the page's CSP allows no inline style attributes.
    for (const bar of app.querySelectorAll(".bar[data-width]")) bar.style.width = `${bar.getAttribute("data-width")}px`;
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    updated.textContent = `could not refresh: ${error.message}`;
  } finally {
    timer = setTimeout(render, REFRESH_MS);
  }
}

window.addEventListener("hashchange", () => {
  app.replaceChildren();
  void render();
});
void render();
