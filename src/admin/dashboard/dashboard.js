// The migration cockpit's client: plain JavaScript served as is (no build step, no CDN). Everything it
// shows comes from the admin API, and every value is rendered with textContent: a route id or a response
// body that holds HTML is shown as text, never run. Actions call the same admin API as the CLI, each
// behind a confirmation with a required reason, so every change is audited like any other.

import { sparkline, timeChart } from "./charts.js";

const REFRESH_MS = 2000;
const app = document.getElementById("app");
const updated = document.getElementById("updated");
let timer = undefined;
/** What the operator chose on the route page, kept across its refreshes. */
const routeView = { hours: 1, replays: new Map(), field: null };

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

// ---- Who is looking: the token's role decides which actions the page offers (the API refuses the rest). ----

/** `GET /api/session`: the token's label, role, the routes it may change and the role each change needs. */
let session = null;
const RANK = { viewer: 0, operator: 1, admin: 2 };

/** True when the token may call `method pattern` (as the API registers it) on this route. */
function may(method, pattern, routeId) {
  if (!session) return false;
  const needed = session.endpoints.find((e) => e.method === method && e.path === pattern)?.role ?? "admin";
  if (RANK[session.role] < RANK[needed]) return false;
  return routeId === undefined || session.changeableRoutes.includes(routeId);
}

async function readSession() {
  session = await api("/api/session");
  const who = document.getElementById("who");
  if (who) who.textContent = `${session.actor} · ${session.role}${session.routes ? ` (changes ${session.routes.join(", ")})` : ""}`;
}

const pct = (x, digits = 1) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`);
/** Requests a second in at most four digits, so that two fit a narrow column: 0.35, 27.5, 412. */
const rate = (x) => (x === null || x === undefined ? "–" : x >= 100 ? String(Math.round(x)) : x >= 10 ? String(Math.round(x * 10) / 10) : String(x));
const ms = (x) => (x === null || x === undefined ? "–" : `${x} ms`);

/** "12 s ago", "3 min ago", "2 h ago", "4 days ago"; "in 3 min" for a time ahead. */
function relative(t) {
  const diff = Date.now() - t;
  const s = Math.round(Math.abs(diff) / 1000);
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86_400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} days`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A time as the operator reads it: local, with its age; the exact ISO time in the tooltip. */
function when(iso, { short = false } = {}) {
  if (!iso) return null;
  const t = Date.parse(iso);
  const local = short ? new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : new Date(t).toLocaleString();
  return el("time", { datetime: new Date(t).toISOString(), title: new Date(t).toISOString() }, `${local} (${relative(t)})`);
}

function message(text, isError = false) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "message error" : "message";
}

// ---- Actions: each one confirmed in a dialog with a required reason, then audited by the API. ----

/** The actions a route offers in its state; `percent` asks for a number too. */
function actionsFor(r) {
  const id = encodeURIComponent(r.id);
  const live = r.rollout.livePercent ?? 0;
  const provider = r.rollout.source === "provider";
  const promotion = r.promotion ?? { status: "off", steps: null };
  const list = [];
  if (!provider) list.push({ key: "set", label: "Set percentage…", verb: `Set the rollout of ${r.id}`, path: `/api/routes/${id}/rollout`, pattern: "/api/routes/:id/rollout", method: "PUT", percent: true });
  if (!provider && live > 0) list.push({ key: "rollback", label: "Roll back to 0%", verb: `Roll ${r.id} back to 0% (every user to the monolith)`, path: `/api/routes/${id}/rollback`, pattern: "/api/routes/:id/rollback", danger: true });
  if (r.state === "halted" || r.state === "paused") list.push({ key: "resume", label: r.state === "halted" ? "Lift the halt" : "Lift the pause", verb: `Lift the ${r.state} state of ${r.id}: it follows its percentage and guard again`, path: `/api/routes/${id}/resume`, pattern: "/api/routes/:id/resume" });
  if (promotion.steps && (promotion.status === "off" || promotion.status === "done") && r.state !== "halted") list.push({ key: "promotion-start", label: "Start promotion", verb: `Start the promotion of ${r.id} (steps ${promotion.steps.join(" → ")}%)`, path: `/api/routes/${id}/promotion/start`, pattern: "/api/routes/:id/promotion/start" });
  if (promotion.status === "running") list.push({ key: "promotion-pause", label: "Pause promotion", verb: `Pause the promotion of ${r.id}`, path: `/api/routes/${id}/promotion/pause`, pattern: "/api/routes/:id/promotion/pause" });
  if (promotion.status === "paused" && r.state !== "halted") list.push({ key: "promotion-resume", label: "Resume promotion", verb: `Resume the promotion of ${r.id}`, path: `/api/routes/${id}/promotion/resume`, pattern: "/api/routes/:id/promotion/resume" });
  // Not while halted: the API refuses every raise until the halt is lifted.
  if ((promotion.status === "running" || promotion.status === "paused") && r.state !== "halted" && !promotion.awaiting) list.push({ key: "promotion-step", label: "Take the next step now", verb: `Take the next promotion step of ${r.id} now, without waiting for the evidence`, path: `/api/routes/${id}/promotion/step`, pattern: "/api/routes/:id/promotion/step" });
  if (promotion.awaiting?.mayApprove) list.push({ key: "promotion-approve", label: `Approve the step to ${promotion.awaiting.percent}%`, verb: `Say yes to the promotion of ${r.id} going to ${promotion.awaiting.percent}% (taken at once if the evidence still passes)`, path: `/api/routes/${id}/promotion/approve`, pattern: "/api/routes/:id/promotion/approve" });
  if (live === 100 && r.state !== "retired") list.push({ key: "retire", label: "Retire (monolith code can go)", verb: `Retire ${r.id}: the monolith no longer serves it`, path: `/api/routes/${id}/retire`, pattern: "/api/routes/:id/retire" });
  if (!provider) list.push({ key: "reroll", label: "Re-roll who is in", verb: `Re-roll ${r.id}: a new salt picks a different set of users at the same percentage`, path: `/api/routes/${id}/reroll`, pattern: "/api/routes/:id/reroll" });
  return list.filter((a) => may(a.method ?? "POST", a.pattern, r.id));
}

/** The confirmation dialog: what will happen, the percentage when asked, and a reason that is required. */
function confirmAction(action, current) {
  document.getElementById("action-dialog")?.remove();
  const percent = el("input", { id: "action-percent", type: "number", min: "0", max: "100", step: "0.01", value: current ?? "" });
  const reason = el("input", { id: "action-reason", type: "text", placeholder: "why (kept in the audit trail)", size: "48" });
  // More values an action asks for (a recording's rate, a replay's candidate), each sent under its key.
  const fields = (action.fields ?? []).map((f) => ({
    ...f,
    input: el("input", { id: `action-field-${f.key}`, type: f.type, ...(f.type === "checkbox" ? { checked: f.value === true } : { value: f.value ?? "", size: f.type === "text" ? "40" : undefined, step: f.step }) }),
  }));
  const error = el("p", { class: "message error", id: "action-error" });
  // Checked here, not by the browser's form validation, so the operator reads why in words.
  const dialog = el(
    "dialog",
    { id: "action-dialog" },
    el("form", { method: "dialog" },
      el("h3", {}, action.verb),
      action.percent ? el("label", {}, "Percentage of users on the service ", percent) : null,
      fields.map((f) => el("label", {}, f.label, f.input)),
      el("label", {}, "Reason ", reason),
      error,
      el("div", { class: "dialog-buttons" },
        el("button", { type: "button", id: "action-cancel", onclick: () => dialog.close() }, "Cancel"),
        el("button", { type: "submit", id: "action-confirm", class: action.danger ? "danger" : "primary" }, "Confirm"))),
  );
  dialog.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) return (error.textContent = "A reason is required: every change is audited.");
    const values = Object.fromEntries(fields.map((f) => [f.key, f.type === "checkbox" ? f.input.checked : f.type === "number" ? Number(f.input.value) : f.input.value.trim()]));
    const body = { ...(action.extra ?? {}), ...values, reason: reason.value.trim(), ...(action.percent ? { percent: Number(percent.value) } : {}) };
    try {
      await api(action.path, { method: action.method ?? "POST", body: JSON.stringify(body) });
      dialog.close();
      message(`Done: ${action.verb}${action.percent ? ` to ${body.percent}%` : ""}. Reason: ${body.reason}`);
      // Gone only once the page shows the change: what the operator (or a test) does next sees it.
      await render();
      dialog.remove();
    } catch (e) {
      error.textContent = `Refused: ${e.message}`;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  (action.percent ? percent : reason).focus();
}

/** A route's actions as a compact menu (the overview's rows). */
function actionMenu(r) {
  const actions = actionsFor(r);
  if (actions.length === 0) return el("span", { class: "muted" }, "–");
  const select = el("select", { class: "row-action", "aria-label": `actions for ${r.id}` }, el("option", { value: "" }, "Act…"), actions.map((a) => el("option", { value: a.key }, a.label)));
  select.addEventListener("change", () => {
    const action = actions.find((a) => a.key === select.value);
    select.value = "";
    if (action) confirmAction(action, r.rollout.livePercent);
  });
  return select;
}

/** A route's actions as buttons (the route page). */
function actionBar(r) {
  const actions = actionsFor(r);
  if (actions.length === 0 && session) return el("div", { class: "actions", id: "actions" }, el("span", { class: "muted", id: "read-only" }, `Read only: token "${session.actor}" (${session.role}) may not change ${r.id} in its state.`));
  return el("div", { class: "actions", id: "actions" }, actions.map((a) => el("button", { id: `action-${a.key}`, class: a.danger ? "danger" : "", onclick: () => confirmAction(a, r.rollout.livePercent) }, a.label)));
}

// ---- The overview: every route, grouped by what needs attention first. ----

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
            el("td", { class: "num" }, relative(n.lastSeen)),
            el("td", {}, n.judge ? el("span", { class: "badge judge" }, "judge") : null),
          ),
        ),
      ),
    ),
  );
}

/** A destination's state in words, with when an ejected one is probed again. */
function destinationState(d) {
  if (d.state === "ejected" && d.ejectedUntil !== null) return `ejected (breaker open) until ${new Date(d.ejectedUntil).toLocaleTimeString()}`;
  return { in_service: "in service", unhealthy: "unhealthy (health checks)", probing: "probing (one request through)", leaving: "leaving (draining)" }[d.state] ?? d.state;
}

/**
 * The backends' destinations (instances): each one's state, requests in flight and last health check.
 * Its summary says how many are out of service, and which backends fail open (every destination unhealthy).
 */
function backendsPanel(backends) {
  const destinations = backends.flatMap((b) => b.destinations);
  const out = destinations.filter((d) => d.state !== "in_service").length;
  const open = backends.filter((b) => b.failingOpen).map((b) => b.name);
  return el(
    "details",
    { class: "fleet", id: "backends" },
    el(
      "summary",
      {},
      `${backends.length} backend${backends.length === 1 ? "" : "s"}, ${destinations.length} destination${destinations.length === 1 ? "" : "s"}`,
      out > 0 ? el("span", { class: "bad", id: "backends-out" }, ` · ${out} out of service`) : null,
      open.length > 0 ? el("span", { class: "bad" }, ` · failing open: ${open.join(", ")}`) : null,
    ),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Backend", "Destination", "State", "In flight", "Last health check"].map((h) => el("th", {}, h)))),
      el(
        "tbody",
        {},
        backends.flatMap((b) =>
          b.destinations.map((d) =>
            el(
              "tr",
              { "data-backend": b.name, "data-destination": d.destination, "data-state": d.state },
              el("td", {}, b.name),
              el("td", { title: d.url }, d.destination),
              el("td", { class: d.state === "in_service" ? "" : "bad" }, destinationState(d)),
              el("td", { class: "num" }, String(d.inFlight)),
              el("td", {}, d.lastCheck ? `${d.lastCheck.ok ? "passed" : "failed"}: ${d.lastCheck.detail}, ${relative(d.lastCheck.atMs)}` : "—"),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The webhooks: each one's deliveries, so a receiver that stopped taking events is seen (none configured: no panel). */
function webhooksPanel(webhooks) {
  if (webhooks.length === 0) return null;
  const troubled = webhooks.filter((w) => w.status === "retrying" || (w.delivery?.failed ?? 0) > 0);
  return el(
    "details",
    { class: "fleet", id: "webhooks" },
    el(
      "summary",
      {},
      `${webhooks.length} webhook${webhooks.length === 1 ? "" : "s"}`,
      troubled.length > 0 ? el("span", { class: "bad", id: "webhooks-troubled" }, ` · ${troubled.map((w) => w.name).join(", ")}: ${troubled.some((w) => w.status === "retrying") ? "retrying" : "events given up"}`) : null,
    ),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Webhook", "URL", "Status", "Behind", "Delivered", "Given up", "Last attempt"].map((h) => el("th", {}, h)))),
      el(
        "tbody",
        {},
        webhooks.map((w) =>
          el(
            "tr",
            { "data-webhook": w.name, "data-status": w.status },
            el("td", {}, w.name),
            el("td", {}, `${w.url} (${w.format}${w.signed ? ", signed" : ""})`),
            el("td", { class: w.status === "retrying" ? "bad" : "" }, w.status === "retrying" ? `retrying (${w.delivery.attempts} failed)` : w.status),
            el("td", { class: "num" }, String(w.backlog)),
            el("td", { class: "num" }, String(w.delivery?.delivered ?? 0)),
            el("td", { class: `num ${(w.delivery?.failed ?? 0) > 0 ? "bad" : ""}` }, String(w.delivery?.failed ?? 0)),
            el("td", {}, w.delivery?.lastAttemptAt ? `${w.delivery.lastStatus ?? "no answer"}${w.delivery.lastError ? `: ${w.delivery.lastError}` : ""}, ${relative(Date.parse(w.delivery.lastAttemptAt))}` : "—"),
          ),
        ),
      ),
    ),
  );
}

/** Failing: errors on either side in the last minute, or a shadow match rate under 95% over enough comparisons. */
function failing(r) {
  const errors = [r.traffic.legacy, r.traffic.target].some((s) => s.errorRate !== null && s.errorRate > 0.01);
  const diverging = r.shadow && r.shadow.compared >= 10 && r.shadow.matchRate !== null && r.shadow.matchRate < 0.95;
  return errors || diverging;
}

/** Groups in the order an operator deals with them: what is broken first, what is done last. */
const GROUPS = [
  { key: "halted", title: "Halted by a guard", test: (r) => r.state === "halted" },
  { key: "failing", title: "Failing: errors or diverging answers", test: failing },
  { key: "approval", title: "Waiting for approval: a promotion step needs a yes", test: (r) => Boolean(r.promotion?.waitingForApproval) },
  { key: "promoting", title: "Promoting", test: (r) => r.promotion?.status === "running" },
  { key: "paused", title: "Paused", test: (r) => r.state === "paused" },
  { key: "canary", title: "Canary: part of the traffic on the service", test: (r) => r.state === "canary" },
  { key: "shadowing", title: "Shadowing: the monolith answers, the service is compared", test: (r) => r.state === "shadowing" },
  { key: "legacy", title: "On the monolith", test: (r) => r.state === "legacy" || r.state === null },
  { key: "migrated", title: "Migrated", test: (r) => r.state === "migrated" },
  { key: "retired", title: "Retired", test: (r) => r.state === "retired" },
  { key: "other", title: "Other", test: () => true },
];

function liveCell(r) {
  return r.rollout.source === "provider"
    ? // An external provider owns the split: show what it decided lately, not a number it ignores.
      el("td", { class: "num live-percent", title: `observed over the last ${r.rollout.observed.windowSeconds / 60} min` }, r.rollout.livePercent === null ? "–" : `~${r.rollout.livePercent}%`, el("span", { class: "muted" }, ` provider, ${r.rollout.observed.decisions} decisions`))
    : el("td", { class: "num live-percent", title: `routes.config.ts says ${r.rollout.configuredPercent}%` }, `${r.rollout.livePercent}%`, el("span", { class: "muted" }, ` (${r.rollout.configuredPercent}%)`));
}

function stateCell(r) {
  const p = r.promotion;
  const step = p && p.steps && p.step !== null && p.status !== "off" ? ` step ${p.step + 1} of ${p.steps.length}` : "";
  return el(
    "td",
    {},
    el("span", { class: `badge ${r.state ?? ""}` }, r.state ?? "–"),
    p && p.status !== "off" ? el("div", { class: "muted small" }, `promotion ${p.status}${step}`) : null,
    p?.waitingForApproval ? el("div", { class: "small attention waiting-approval" }, `waiting for approval to go to ${p.waitingForApproval.percent}%`) : null,
  );
}

/** Two numbers, monolith then service, in their colours. */
const pair = (a, b, bad = false) => [el("span", { class: `legacy ${bad && a.bad ? "bad" : ""}` }, a.text), el("span", { class: "muted" }, " / "), el("span", { class: `target ${bad && b.bad ? "bad" : ""}` }, b.text)];

function routesTable(routes) {
  const head = ["Route", "State", "Live (config)", "Last hour", "req/s mono / svc", "errors", "p99", "Shadow", "Last change", ""];
  const cols = el("colgroup", {}, ["c-route", "c-state", "c-live", "c-spark", "c-rps", "c-err", "c-p99", "c-shadow", "c-change", "c-act"].map((c) => el("col", { class: c })));
  const seen = new Set();
  const bodies = [];
  for (const group of GROUPS) {
    const members = routes.filter((r) => !seen.has(r.id) && group.test(r));
    if (members.length === 0) continue;
    for (const r of members) seen.add(r.id);
    bodies.push(
      el(
        "tbody",
        { "data-group": group.key },
        el("tr", { class: "group" }, el("th", { colspan: String(head.length) }, `${group.title} (${members.length})`)),
        members.map((r) => {
          const { legacy, target } = r.traffic;
          const change = r.lastChange;
          return el(
            "tr",
            { "data-route": r.id },
            el("td", { class: "route-cell" }, el("a", { href: `#/route/${encodeURIComponent(r.id)}` }, r.id), el("div", { class: "muted small clip", title: `${r.match.methods === "*" ? "*" : r.match.methods.join(",")} ${r.match.path} · ${r.legacy} → ${r.target}` }, `${r.match.methods === "*" ? "*" : r.match.methods.join(",")} ${r.match.path}`)),
            stateCell(r),
            liveCell(r),
            el("td", { class: "spark-cell" }, sparkline(r.sparkline)),
            el("td", { class: "num", title: `${legacy.rps} / ${target.rps} requests a second` }, pair({ text: rate(legacy.rps) }, { text: rate(target.rps) })),
            el("td", { class: "num" }, pair({ text: pct(legacy.errorRate), bad: legacy.errorRate > 0 }, { text: pct(target.errorRate), bad: target.errorRate > 0 }, true)),
            // The unit once, after the service's figure: two figures and " ms" fit the column.
            el("td", { class: "num", title: `p99 ${ms(legacy.p99Ms)} on the monolith, ${ms(target.p99Ms)} on the service` }, pair({ text: legacy.p99Ms === null || legacy.p99Ms === undefined ? "–" : String(legacy.p99Ms) }, { text: ms(target.p99Ms) })),
            el(
              "td",
              { class: "shadow-cell" },
              r.shadow ? el("div", { class: "num" }, `${pct(r.shadow.matchRate)} match`, el("span", { class: "muted" }, ` of ${r.shadow.compared}`)) : el("span", { class: "muted" }, "off"),
              r.shadow ? r.shadow.topDivergences.slice(0, 2).map((d) => el("div", { class: "divergence clip", title: `${signatureLabel(d)} ×${d.count}` }, `${signatureLabel(d)} ×${d.count}`)) : null,
              r.shadow && r.shadow.noise.length ? el("div", { class: "muted small clip", title: `noise: ${r.shadow.noise.join(", ")}` }, `noise: ${r.shadow.noise.join(", ")}`) : null,
            ),
            el("td", { class: "change-cell" }, change ? [el("div", { class: "small" }, when(change.at, { short: true })), el("div", { class: "muted small clip", title: `${change.by}: ${change.reason}` }, `${change.by}: ${change.reason}`)] : null),
            el("td", {}, actionMenu(r)),
          );
        }),
      ),
    );
  }
  return el("table", { id: "routes", class: "routes" }, cols, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), bodies);
}

async function renderOverview() {
  const [overview, fleet, backends, { webhooks }] = await Promise.all([api("/api/overview"), api("/api/fleet"), api("/api/backends"), api("/api/webhooks")]);
  // Keep the fleet and backend lists open across refreshes if the operator opened them.
  const fleetOpen = document.getElementById("fleet")?.open ?? false;
  const fleetView = fleetPanel(fleet);
  fleetView.open = fleetOpen;
  const backendsOpen = document.getElementById("backends")?.open ?? false;
  const backendsView = backendsPanel(backends.backends);
  backendsView.open = backendsOpen;
  const webhooksView = webhooksPanel(webhooks);
  if (webhooksView) webhooksView.open = document.getElementById("webhooks")?.open ?? false;
  return el(
    "div",
    { id: "overview" },
    progressPanel(overview.progress),
    fleetView,
    backendsView,
    webhooksView,
    document.getElementById("message") ?? el("div", { id: "message", class: "message" }),
    routesTable(overview.routes),
  );
}

// ---- A route's page: its story as a timeline, charts, divergences with replay, audit. ----

/** "2 min 5 s" */
function duration(msLeft) {
  const s = Math.max(0, Math.round(msLeft / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/**
 * The bounds a verdict was judged against: a promotion step by the promotion's (on the upper confidence
 * bound of each rate), a guard trip by the guard's.
 */
function boundsOf(action, guard, promote) {
  if ((action === "promote_step" || action === "promotion_done") && promote) {
    const at = ` at ${Math.round((promote.confidence ?? 0.95) * 100)}% confidence`;
    return { maxErrorRate: promote.maxErrorRate, maxDivergenceRate: promote.maxDivergenceRate, suffix: at };
  }
  return guard ? { maxErrorRate: guard.maxErrorRate, maxDivergenceRate: guard.maxDivergenceRate, maxP99Ratio: guard.maxP99Ratio, suffix: "" } : { suffix: "" };
}

/** The evidence behind a verdict, in the words of the bounds it was judged against. */
function evidenceLine(evidence, bounds) {
  if (!evidence) return null;
  const parts = [];
  const t = evidence.target;
  const l = evidence.legacy;
  const bound = (b) => (b !== undefined ? ` (bound ${pct(b)}${bounds.suffix})` : "");
  if (t) {
    const rate = t.requests ? t.errors / t.requests : null;
    parts.push(`${t.requests} service requests, error rate ${pct(rate)}${bound(bounds.maxErrorRate)}`);
  }
  if (evidence.shadow) {
    const s = evidence.shadow;
    const rate = s.compared ? s.diverged / s.compared : null;
    parts.push(`${s.compared} comparisons, divergence ${pct(rate)}${bound(bounds.maxDivergenceRate)}`);
  }
  if (t?.p99Ms !== undefined && l?.p99Ms !== undefined && t.p99Ms !== null && l.p99Ms !== null) {
    parts.push(`p99 ${t.p99Ms} ms vs the monolith's ${l.p99Ms} ms = ${(t.p99Ms / Math.max(1, l.p99Ms)).toFixed(1)}×${bounds.maxP99Ratio !== undefined ? ` (bound ${bounds.maxP99Ratio}×)` : ""}`);
  }
  if (evidence.windowMs) parts.push(`over ${duration(evidence.windowMs)}`);
  return el("div", { class: "evidence muted small" }, parts.join(" · "));
}

function verdictText(kind, v) {
  if (!v) return null;
  if (v.verdict === "trip") return `${kind}: tripped: ${v.reasons.join("; ")}`;
  if (v.verdict === "insufficient_data") return `${kind}: not enough evidence yet: ${v.reason}`;
  if (v.verdict === "hold") return `${kind}: holding this step: ${v.reason}`;
  if (v.verdict === "waiting") return `${kind}: waiting for the step's interval to end`;
  if (v.verdict === "advance") return `${kind}: evidence passed, step taken`;
  if (v.verdict === "ok") return `${kind}: within every bound`;
  if (v.verdict === "awaiting_approval") return `${kind}: evidence passed; the step to ${v.percent}% waits for a yes`;
  if (v.verdict === "approval_expired") return `${kind}: no yes in time: paused`;
  return `${kind}: ${v.verdict}`;
}

function timeline(migration, history, livePercent) {
  const promote = migration.promote;
  const guard = migration.guard;
  const steps = promote?.steps ?? [];
  const index = migration.stepIndex;
  const running = migration.promotion === "running";
  const halted = migration.state === "halted";
  const marks = { done: "✓", current: "●", halted: "✕", next: "○" };
  const stepItems = steps.map((p, i) => {
    const reached = index === i && migration.promotion !== "off";
    const status = migration.promotion === "done" || (index !== null && i < index) ? "done" : reached ? (halted ? "halted" : "current") : "next";
    return el("li", { class: `step ${status}`, "data-step": String(i) }, el("span", { class: "step-mark" }, marks[status]), ` ${p}%`);
  });
  // Halted, the live percentage is the guard's (often 0%), not the step's: say so, or the step reads as live.
  const stepOf = index !== null && steps.length ? `step ${index + 1} of ${steps.length} (${steps[index]}%)` : "";
  const promotionStatus = halted && migration.promotion !== "off" && migration.promotion !== "done"
    ? `halted by its guard at ${livePercent ?? "–"}%: the promotion is ${migration.promotion} at ${stepOf} until someone lifts the halt`
    : `promotion ${migration.promotion}${index !== null ? `, step ${index + 1} of ${steps.length}` : ""}`;
  let countdown = null;
  const awaiting = awaitingApproval(migration);
  if (awaiting) {
    countdown = el(
      "p",
      { id: "approval", class: "attention" },
      el("strong", {}, `Waiting for approval to go to ${awaiting.percent}%`),
      ` since `,
      when(migration.awaitingSince),
      `: a yes from ${awaiting.approvers === "admin" ? "an admin" : "an operator or an admin"}${promote.approval.confirmWebhook ? ` or webhook ${promote.approval.confirmWebhook}` : ""}; without one the promotion pauses ${relative(awaiting.expiresAt)}.`,
      awaiting.mayApprove ? null : el("span", { class: "muted" }, ` (your role, ${session?.role ?? "?"}, cannot approve it)`),
    );
  } else if (promote && running && migration.stepStartedAt) {
    const due = Date.parse(migration.stepStartedAt) + promote.intervalMs;
    countdown = el("p", { id: "countdown", "data-due": String(due), "data-every": String(history.judgeEveryMs) }, countdownText(due, history.judgeEveryMs));
  }
  const verdict = migration.lastVerdict;
  // A trip writes two entries, the halt (with its evidence) and the percentage it set: the timeline tells
  // it once, by the halt; the audit trail below keeps both.
  const trips = history.audit.filter((a) => ["halted", "promote_step", "promotion_done", "promotion_start", "resume", "promotion_awaiting_approval", "promotion_approved", "promotion_approval_expired"].includes(a.action));
  return el(
    "section",
    { id: "timeline" },
    el("h2", {}, "Timeline"),
    promote
      ? el("div", {}, el("ol", { class: "steps", id: "steps" }, stepItems), el("p", { class: halted ? "bad" : "muted", id: "promotion-status" }, `${promotionStatus} · each step lasts at least ${duration(promote.intervalMs)} and needs ${promote.minSamples} samples`), countdown)
      : el("p", { class: "muted" }, "No promotion configured: percentages move by hand (or through the admin API)."),
    guard ? el("p", { class: "muted", id: "guard-bounds" }, `Guard: judged every ${duration(history.judgeEveryMs)} over ${duration(guard.windowMs)}, from ${guard.minSamples} samples; error rate ≤ ${pct(guard.maxErrorRate ?? null)}${guard.maxDivergenceRate !== undefined ? `, divergence ≤ ${pct(guard.maxDivergenceRate)}` : ""}${guard.maxP99Ratio !== undefined ? `, p99 ≤ ${guard.maxP99Ratio}× the monolith's` : ""}.`) : el("p", { class: "muted" }, "No guard on this route."),
    verdict ? el("p", { id: "last-verdict" }, "Last evaluation ", when(verdict.at), ": ", [verdictText("guard", verdict.guard), verdictText("promotion", verdict.promotion)].filter(Boolean).join(" · ")) : null,
    el(
      "ul",
      { class: "verdicts", id: "verdicts" },
      trips.length === 0 ? el("li", { class: "muted" }, "No guard trip or promotion step yet.") : null,
      trips.map((a) => el("li", { class: `verdict ${a.action}`, "data-action": a.action }, el("div", {}, when(a.at), " ", el("span", { class: "sentence" }, a.sentence)), evidenceLine(a.newValue?.evidence, boundsOf(a.action, guard, promote)))),
    ),
  );
}

/** The step a gate holds, with who may say yes and when the wait ends; null when nothing waits. */
function awaitingApproval(migration) {
  const approval = migration.promote?.approval;
  if (!approval || !migration.awaitingSince || migration.stepIndex === null) return null;
  const percent = migration.promote.steps[migration.stepIndex + 1];
  return {
    percent,
    approvers: approval.approvers,
    expiresAt: Date.parse(migration.awaitingSince) + approval.timeoutMs,
    mayApprove: may("POST", "/api/routes/:id/promotion/approve", migration.routeId) && RANK[session.role] >= RANK[approval.approvers],
  };
}

function countdownText(due, everyMs) {
  const left = due - Date.now();
  return left > 0 ? `Next evaluation of this step in ${duration(left)} (then at the judge's next tick, every ${duration(everyMs)}).` : `This step's interval is over: judged at the next tick (every ${duration(everyMs)}).`;
}

/** "15 min", "1 h", "24 h". */
const spanLabel = (hours) => (hours < 1 ? `${Math.round(hours * 60)} min` : `${hours} h`);

function charts(history) {
  const from = history.fromMinute * 60_000;
  const to = (history.toMinute + 1) * 60_000;
  const at = (m) => m.minute * 60_000 + 30_000;
  // The live percentage as steps: its value when the span began, then each change in it.
  const percentPoints = [[from, history.percentAtStart ?? history.currentPercent ?? 0], ...history.percent.map((p) => [Date.parse(p.at), p.percent])];
  // 15 min too: a route that has just started taking traffic (the demo's first minutes) is a sliver of an hour.
  const rangeButtons = el("div", { class: "ranges" }, [0.25, 1, 6, 24].map((h) => el("button", { "data-hours": String(h), class: routeView.hours === h ? "primary" : "", onclick: () => ((routeView.hours = h), render()) }, spanLabel(h))));
  const errorRate = (side) => history.traffic.filter((m) => m[side].requests > 0).map((m) => [at(m), m[side].errorRate * 100]);
  const p99 = (side) => history.traffic.filter((m) => m[side].p99Ms !== null).map((m) => [at(m), m[side].p99Ms]);
  const fmtPct = (v) => `${Number(v.toFixed(1))}%`;
  return el(
    "section",
    { id: "charts" },
    el("h2", {}, `The last ${spanLabel(history.hours)}`, " ", rangeButtons),
    el(
      "div",
      { class: "chart-grid" },
      timeChart({ id: "chart-rollout", title: "Live rollout %", fromMs: from, toMs: to, series: [{ name: "on the service", className: "target", points: percentPoints, step: true }], y: { max: 100, format: fmtPct } }),
      timeChart({ id: "chart-match", title: "Shadow match rate per minute", fromMs: from, toMs: to, series: [{ name: "match", className: "target", points: history.matchRate.filter((m) => m.compared > 0).map((m) => [at(m), (m.match / m.compared) * 100]) }], y: { max: 100, format: fmtPct } }),
      timeChart({ id: "chart-errors", title: "Error rate per minute", fromMs: from, toMs: to, series: [{ name: "monolith", className: "legacy", points: errorRate("legacy") }, { name: "service", className: "target", points: errorRate("target") }], y: { floor: 5, format: fmtPct } }),
      timeChart({ id: "chart-p99", title: "p99 latency per minute", fromMs: from, toMs: to, series: [{ name: "monolith", className: "legacy", points: p99("legacy") }, { name: "service", className: "target", points: p99("target") }], y: { floor: 10, format: (v) => `${Number(v.toFixed(1))} ms` } }),
    ),
  );
}

/** Pretty JSON when it is JSON, with the lines of differing body fields marked (the status and headers are not in the body). */
/** A stored body's heading, saying when the body was cut to the store's bound. */
function bodyLabel(side, truncated) {
  return truncated ? `${side} (body cut: only its first exampleBodyBytes are stored; the differences above were found in the whole body)` : side;
}

function bodyBlock(text, paths) {
  let pretty = text ?? "";
  try {
    pretty = JSON.stringify(JSON.parse(pretty), null, 2);
  } catch {
    // not JSON: shown as it came
  }
  const keys = paths.filter((p) => p.startsWith("$.") || p.startsWith("$[")).map((p) => p.split(/[.[\]"]+/).filter(Boolean).pop()).filter((k) => k && k !== "$" && k !== "*");
  return el("pre", {}, pretty.split("\n").map((line) => el("span", { class: keys.some((k) => line.includes(`"${k}"`)) ? "hit" : "" }, `${line}\n`)));
}

/** Splits `$.items[*].price` into its steps: `items[*]`, `price`. */
function pathSteps(path) {
  return path.replace(/^\$\.?/, "").split(/\.(?![^[]*\])/).filter(Boolean);
}

/**
 * Where a divergence sits in the field tree, as [key, label] pairs from the root down: the status line,
 * a transport error, a header under "headers", a body that is not JSON, or a JSON path under "$". The
 * key is what the tree filters the pairs by.
 */
function fieldPlace(s) {
  if (s.kind === "status") return [["status", "HTTP status"]];
  if (s.kind === "error") return [["error", "no answer (transport error)"]];
  if (s.path.startsWith("header:")) return [["headers", "headers"], [s.path, s.path.slice("header:".length)]];
  if (!s.path.startsWith("$")) return [[s.path, `${s.path} (not JSON)`]];
  const place = [["$", "$ (JSON body)"]];
  let path = "$";
  for (const step of pathSteps(s.path)) {
    path = step.startsWith("[") ? `${path}${step}` : `${path}.${step}`;
    place.push([path, step]);
  }
  return place;
}

/** A signature as an operator reads it (as readable-diff.ts words a difference): "HTTP status differs", "changed header etag", "type_changed $.price". */
function signatureLabel(s) {
  if (s.kind === "status") return "HTTP status differs";
  if (s.kind === "error") return "no answer from one side";
  if (s.path.startsWith("header:")) return `${s.kind} header ${s.path.slice("header:".length)}`;
  return `${s.kind} ${s.path}`;
}

/** Whether a signature sits at or under the field the operator picked in the tree. */
const underField = (s, field) => fieldPlace(s).some(([key]) => key === field);

/**
 * The per-field tree: the status, each header and each JSON path with how often it diverged (rate of
 * all comparisons), how often it changed between two answers of the monolith itself (the noise rate),
 * counts and first/last seen. A parent sums its children.
 */
function fieldTree(signatures, shadow) {
  const compared = shadow.compared || 0;
  const noiseSamples = shadow.noise.samples || 0;
  // Noise is kept by place and kind: a field's noise rate is that of its most frequent kind, named in the tooltip.
  const noiseOf = new Map();
  for (const n of shadow.noise.fields) if (!noiseOf.has(n.path) || noiseOf.get(n.path).occurrences < n.occurrences) noiseOf.set(n.path, n);
  const node = (key, label) => ({ name: label, path: key, count: 0, first: null, last: null, kinds: new Set(), children: new Map() });
  const roots = new Map();
  for (const s of signatures) {
    let siblings = roots;
    for (const [key, label] of fieldPlace(s)) {
      if (!siblings.has(key)) siblings.set(key, node(key, label));
      const n = siblings.get(key);
      n.count += s.count;
      n.kinds.add(s.kind);
      n.first = n.first === null || s.firstSeen < n.first ? s.firstSeen : n.first;
      n.last = n.last === null || s.lastSeen > n.last ? s.lastSeen : n.last;
      siblings = n.children;
    }
  }
  const renderNode = (n) => {
    const noise = noiseOf.get(n.path);
    const row = el(
      "div",
      { class: `field ${routeView.field === n.path ? "selected" : ""}`, "data-path": n.path, onclick: (e) => ((routeView.field = routeView.field === n.path ? null : n.path), e.stopPropagation(), render()) },
      el("code", {}, n.name),
      el("span", { class: "num field-rate", title: `${n.count} divergences of ${compared} comparisons` }, ` ${compared ? pct(Math.min(1, n.count / compared)) : "–"} diverged`),
      el("span", { class: "num muted field-noise", title: noise ? `${noise.kind && noise.kind !== "*" ? noise.kind : "changed"} ${noise.occurrences} times in ${noiseSamples} noise samples (the monolith against itself)` : "never changed between two answers of the monolith" }, ` · noise ${noise && noiseSamples ? pct(Math.min(1, noise.occurrences / noiseSamples)) : "0%"}`),
      el("span", { class: "muted small" }, ` · ×${n.count} · ${[...n.kinds].join(", ")} · first `, when(n.first, { short: true }), " last ", when(n.last, { short: true })),
    );
    const kids = [...n.children.values()].sort((a, b) => b.count - a.count);
    return el("li", {}, row, kids.length ? el("ul", {}, kids.map(renderNode)) : null);
  };
  const top = [...roots.values()].sort((a, b) => b.count - a.count);
  return el("ul", { class: "field-tree", id: "field-tree" }, top.length ? top.map(renderNode) : el("li", { class: "muted" }, "No divergence: every compared field matched."));
}

async function replay(signature, example) {
  const key = `${signature.id}/${example.id}`;
  routeView.replays.set(key, { pending: true });
  await render();
  try {
    routeView.replays.set(key, await api(`/api/divergences/${signature.id}/examples/${example.id}/replay`, { method: "POST", body: "{}" }));
  } catch (e) {
    routeView.replays.set(key, { error: e.message });
  }
  await render();
}

function replayResult(result) {
  if (!result) return null;
  if (result.pending) return el("div", { class: "replay-result muted" }, "Replaying to both backends…");
  if (result.error) return el("div", { class: "replay-result bad" }, `Replay refused: ${result.error}`);
  const head = `Replayed ${relative(Date.parse(result.replayedAt))}: monolith ${result.legacy.status ?? result.legacy.error} in ${result.legacy.ms} ms, service ${result.target.status ?? result.target.error} in ${result.target.ms} ms`;
  return el(
    "div",
    { class: `replay-result ${result.outcome}`, "data-outcome": result.outcome },
    el("p", {}, el("strong", {}, result.outcome === "match" ? "Now matches: " : result.outcome === "diverge" ? "Still diverges: " : "Could not compare: "), head),
    result.request.withheldHeaders.length ? el("p", { class: "muted small" }, `sent without ${result.request.withheldHeaders.join(", ")} (stored redacted)`) : null,
    result.request.withheldQueryParams.length ? el("p", { class: "muted small" }, `query parameters sent as "[redacted]": ${result.request.withheldQueryParams.join(", ")}`) : null,
    result.diff.length ? el("ul", { class: "diff" }, result.diff.map((line) => el("li", {}, line))) : null,
    result.legacyBody !== null ? el("div", { class: "pair" }, el("div", {}, el("div", { class: "muted" }, "monolith, now"), bodyBlock(result.legacyBody, result.differences.map((d) => d.path))), el("div", {}, el("div", { class: "muted" }, "service, now"), bodyBlock(result.targetBody, result.differences.map((d) => d.path)))) : null,
  );
}

function divergencesSection(divergences, shadow) {
  const open = divergences.signatures.filter((s) => s.status === "open");
  const shown = routeView.field ? open.filter((s) => underField(s, routeView.field)) : open;
  const acknowledge = (signature, status) =>
    confirmAction({ verb: `Mark "${signatureLabel(signature)}" as ${status === "fixed" ? "fixed" : "accepted (an intended difference)"}`, path: `/api/divergences/${signature.id}/acknowledge`, extra: { status } });
  return el(
    "section",
    { id: "divergences" },
    el("h2", {}, `Divergences (${open.length} open)`, routeView.field ? el("span", { class: "muted" }, ` · showing ${routeView.field}`) : null),
    el(
      "div",
      { class: "divergence-grid" },
      el("div", { class: "tree-panel" }, el("h3", {}, "By field"), fieldTree(divergences.signatures, shadow)),
      el(
        "div",
        { class: "pairs-panel" },
        shown.length === 0 ? el("p", { class: "muted" }, "None open: the service answers like the monolith, or nothing was compared yet.") : null,
        shown.map((s) =>
          el(
            "div",
            { class: "signature", "data-signature": String(s.id) },
            el("strong", {}, signatureLabel(s)),
            el("span", { class: "muted" }, ` ×${s.count} · first `, when(s.firstSeen, { short: true }), " · last ", when(s.lastSeen, { short: true }), " "),
            may("POST", "/api/divergences/:signatureId/acknowledge", s.routeId)
              ? [el("button", { class: "ack-fixed", onclick: () => acknowledge(s, "fixed") }, "Fixed"), " ", el("button", { class: "ack-accepted", onclick: () => acknowledge(s, "accepted") }, "Accepted (intended)")]
              : null,
            s.examples.map((e) =>
              el(
                "div",
                { class: "example", "data-example": String(e.id) },
                el("p", { class: "muted" }, `${e.method} ${e.path}${e.query ? `?${e.query}` : ""}${e.targetPath ? ` (service: ${e.targetPath})` : ""} · monolith ${e.legacyStatus} in ${e.legacyMs} ms · service ${e.targetStatus} in ${e.targetMs} ms · `, when(e.at, { short: true }), " ",
                  e.method !== "GET" && e.method !== "HEAD"
                    ? el("span", { class: "muted" }, "(not replayed: not idempotent)")
                    : may("POST", "/api/divergences/:signatureId/examples/:exampleId/replay", s.routeId)
                      ? el("button", { class: "replay", onclick: () => replay(s, e) }, "Replay now")
                      : null),
                el("ul", { class: "diff" }, e.diff.map((line) => el("li", {}, line))),
                e.requestBody ? el("details", { class: "request-body" }, el("summary", { class: "muted" }, "request body (redacted)"), bodyBlock(e.requestBody, [])) : null,
                el("div", { class: "pair" }, el("div", {}, el("div", { class: "muted" }, bodyLabel("monolith", e.truncated?.legacy)), bodyBlock(e.legacyBody, e.differences.map((d) => d.path))), el("div", {}, el("div", { class: "muted" }, bodyLabel("service", e.truncated?.target)), bodyBlock(e.targetBody, e.differences.map((d) => d.path)))),
                replayResult(routeView.replays.get(`${s.id}/${e.id}`)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The route's state in one sentence. */
function stateSentence(route, migration) {
  const live = route.rollout.livePercent;
  const words = {
    legacy: "The monolith answers every request.",
    shadowing: "The monolith answers; the service is asked too and compared.",
    canary: `${live}% of users are on the service.`,
    migrated: "Every user is on the service.",
    retired: "Retired: the monolith no longer serves this route, its code can go.",
    halted: `Halted by its guard at ${live}%: it stays there until someone lifts the halt.`,
    paused: `Paused by hand at ${live}%.`,
  };
  return `${words[migration.state] ?? ""} Live ${live}% (routes.config.ts: ${route.rollout.configuredPercent}%).`;
}

// ---- Recording and replay: the route's recordings, started, stopped and replayed from here. ----

/** A replay run's outcome in a few words: its status, and its verdict as a tooltip. */
function runCell(run) {
  if (!run) return el("span", { class: "muted" }, "not replayed");
  const progress = run.status === "running" && run.progress ? ` (${run.progress.sent} sent)` : "";
  const top = (run.report?.signatures ?? []).slice(0, 3);
  return el(
    "span",
    { class: `run ${run.status}`, title: run.report?.verdict ?? "" },
    `run ${run.id}: ${run.status}${progress}`,
    run.report?.verdict ? el("div", { class: "muted verdict-text" }, run.report.verdict) : null,
    top.length > 0 ? el("ul", { class: "run-signatures" }, top.map((sig) => el("li", {}, `${sig.count} × ${sig.kind === "status" ? "HTTP status" : `${sig.kind} ${sig.path}`}`))) : null,
  );
}

function recordingSection(route, recordings, lastRuns) {
  const key = encodeURIComponent(route.id);
  const active = recordings.find((r) => r.stoppedAt === null);
  const start = { key: "record", label: "Start recording…", verb: `Record ${route.id}: a share of its exchanges with the monolith, redacted, rare answers first`, path: `/api/routes/${key}/recordings`, fields: [{ key: "rate", label: "Share kept (0–1) ", type: "number", value: 0.1, step: "0.01" }, { key: "max", label: "Up to (exchanges) ", type: "number", value: 1000, step: "1" }] };
  const stop = active && { key: "record-stop", label: "Stop recording", verb: `Stop recording ${active.id} of ${route.id}`, path: `/api/recordings/${active.id}/stop` };
  const replayOf = (r) => ({
    key: `replay-${r.id}`,
    label: "Replay…",
    verb: `Replay recording ${r.id} against a candidate, compared with the monolith's recorded answers`,
    path: `/api/recordings/${r.id}/replays`,
    fields: [
      { key: "against", label: "Candidate (a backend's name or a URL) ", type: "text", value: route.target },
      { key: "sandbox", label: "It is a sandbox: replay the writes too ", type: "checkbox", value: false },
    ],
  });
  return el(
    "section",
    { id: "recordings" },
    el("h2", {}, "Recording and replay"),
    el(
      "div",
      { class: "actions" },
      active
        ? may("POST", "/api/recordings/:recordingId/stop", route.id) && el("button", { id: "action-record-stop", onclick: () => confirmAction(stop) }, stop.label)
        : may("POST", "/api/routes/:id/recordings", route.id) && el("button", { id: "action-record", onclick: () => confirmAction(start) }, start.label),
    ),
    recordings.length === 0
      ? el("p", { class: "muted" }, "No recording yet: record the route's real exchanges with the monolith, then replay them against the service before it serves anyone.")
      : el(
          "table",
          { class: "recordings" },
          el("thead", {}, el("tr", {}, ["recording", "state", "started", "exchanges", "truncated / dropped", "last replay", ""].map((h) => el("th", {}, h)))),
          el(
            "tbody",
            {},
            recordings.map((r, i) =>
              el(
                "tr",
                { "data-recording": r.id },
                el("td", {}, String(r.id)),
                el("td", {}, r.stoppedAt === null ? "recording" : (r.stopReason ?? "stopped")),
                el("td", {}, when(new Date(r.startedAt).toISOString())),
                el("td", {}, `${r.exchanges} / ${r.maxExchanges}`),
                el("td", {}, `${r.truncated} / ${r.dropped}`),
                el("td", {}, runCell(lastRuns[i])),
                el("td", {}, r.stoppedAt === null || !may("POST", "/api/recordings/:recordingId/replays", route.id) ? null : el("button", { class: "replay-recording", onclick: () => confirmAction(replayOf(r)) }, "Replay…")),
              ),
            ),
          ),
        ),
  );
}

async function renderRoute(id) {
  const key = encodeURIComponent(id);
  const [route, migration, divergences, shadow, history, { recordings }] = await Promise.all([
    api(`/api/routes/${key}`),
    api(`/api/routes/${key}/migration`),
    api(`/api/routes/${key}/divergences?status=all&examples=2`),
    api(`/api/routes/${key}/shadow?windowMinutes=10080`),
    api(`/api/routes/${key}/history?hours=${routeView.hours}`),
    api(`/api/recordings?route=${key}`),
  ]);
  // The newest five recordings, each with its last replay run.
  const shownRecordings = recordings.slice(0, 5);
  const lastRuns = await Promise.all(shownRecordings.map(async (r) => (await api(`/api/recordings/${r.id}/replays?limit=1`)).runs[0] ?? null));
  const awaiting = awaitingApproval(migration);
  const row = { ...route, state: migration.state, promotion: { status: migration.promotion, step: migration.stepIndex, steps: migration.promote?.steps ?? null, awaiting } };
  return el(
    "div",
    { id: "route-page" },
    el("p", {}, el("a", { href: "#/" }, "← all routes")),
    document.getElementById("message") ?? el("div", { id: "message", class: "message" }),
    el(
      "section",
      { id: "route-head" },
      el("h2", {}, `Route ${id} `, el("span", { class: `badge ${migration.state}` }, migration.state)),
      el("p", {}, `${route.match.methods === "*" ? "*" : route.match.methods.join(",")} ${route.match.path} · ${route.legacy} → ${route.target} · `, stateSentence(route, migration)),
      actionBar(row),
    ),
    timeline(migration, history, route.rollout.livePercent),
    charts(history),
    route.id && shadow.shadow ? divergencesSection(divergences, shadow) : el("section", { id: "divergences" }, el("h2", {}, "Divergences"), el("p", { class: "muted" }, "This route is not shadowed.")),
    recordingSection(route, shownRecordings, lastRuns),
    el(
      "section",
      { id: "audit" },
      el("h2", {}, "Audit trail"),
      el("ul", { class: "audit" }, history.audit.map((a) => el("li", { "data-action": a.action }, when(a.at), " ", el("span", { class: "sentence" }, a.sentence)))),
    ),
  );
}

// ---- The migration map ----

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
              el("td", {}, el("code", {}, `${r.method} ${r.template}`), r.targetTemplate ? el("div", { class: "muted small" }, `service: ${r.targetTemplate}`) : null),
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

// ---- Rendering and refresh ----

/** True while the operator is in the middle of something a refresh would wipe. */
function busy() {
  return document.getElementById("action-dialog")?.open || document.activeElement?.tagName === "INPUT";
}

async function render() {
  clearTimeout(timer);
  const hash = location.hash;
  try {
    if (busy()) return;
    // Each refresh: a reload of the config may have changed what this token may do.
    await readSession();
    const match = /^#\/route\/(.+)$/.exec(hash);
    const view = match ? await renderRoute(decodeURIComponent(match[1])) : hash === "#/map" ? await renderMap() : await renderOverview();
    if (busy() || location.hash !== hash) return;
    const scroll = window.scrollY;
    app.replaceChildren(view);
    window.scrollTo(0, scroll);
    // Bar widths are set through the CSSOM: the page's CSP allows no inline style attributes.
    for (const bar of app.querySelectorAll(".bar[data-width]")) bar.style.width = `${bar.getAttribute("data-width")}px`;
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    updated.textContent = `could not refresh: ${error.message}`;
  } finally {
    timer = setTimeout(render, REFRESH_MS);
  }
}

// The promotion's countdown moves every second between refreshes.
setInterval(() => {
  const c = document.getElementById("countdown");
  if (c) c.textContent = countdownText(Number(c.getAttribute("data-due")), Number(c.getAttribute("data-every")));
}, 1000);

window.addEventListener("hashchange", () => {
  app.replaceChildren();
  routeView.replays.clear();
  routeView.field = null;
  void render();
});
void render();
