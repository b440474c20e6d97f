// Hand-drawn SVG charts for the dashboard: time series with real time axes (local time), value axes,
// a point per minute with its value as a tooltip, and a hover readout; and the overview's sparklines.
// Plain DOM calls and textContent only (the page's CSP allows no inline script or style), no library
// to keep up to date, and nothing fetched from anywhere but the admin listener.

const NS = "http://www.w3.org/2000/svg";
const MINUTE = 60_000;
/** Tick spacings a time axis may use, in minutes: the first that gives at most seven ticks wins. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const clock = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** A "nice" upper bound for a value axis: 1, 2 or 5 times a power of ten, at least `floor`. */
function niceMax(value, floor) {
  const v = Math.max(value, floor);
  const power = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * power >= v) return m * power;
  return 10 * power;
}

/**
 * A time chart. `series`: [{ name, className, points: [[timeMs, value]], step }], drawn from `fromMs` to
 * `toMs`; `y`: { max (fixed) or floor (least max), format(value) }. Each point is a circle with a
 * <title> tooltip; hovering the chart shows every series' value at the nearest minute.
 */
export function timeChart({ id, title, fromMs, toMs, series, y, width = 560, height = 190 }) {
  const left = 52;
  // Room for the last time label, centred on the right edge.
  const right = 28;
  const top = 26;
  const bottom = 26;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null && Number.isFinite(v));
  const yMax = y.max ?? niceMax(values.length ? Math.max(...values) : 0, y.floor ?? 1);
  const x = (t) => left + ((t - fromMs) / Math.max(1, toMs - fromMs)) * plotW;
  const yOf = (v) => top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const root = svg("svg", { id, class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title });
  root.append(svg("text", { x: left, y: 14, class: "chart-title" }, title));

  // Value axis: 0, half, max, with grid lines.
  for (const v of [0, yMax / 2, yMax]) {
    root.append(svg("line", { x1: left, x2: left + plotW, y1: yOf(v), y2: yOf(v), class: "grid" }));
    root.append(svg("text", { x: left - 6, y: yOf(v) + 4, class: "axis y-tick", "text-anchor": "end" }, y.format(v)));
  }
  // Time axis: ticks on round local minutes.
  const spanMinutes = (toMs - fromMs) / MINUTE;
  const step = TIME_STEPS.find((s) => spanMinutes / s <= 7) ?? 1440;
  const offset = new Date().getTimezoneOffset() * MINUTE;
  const first = Math.ceil((fromMs - offset) / (step * MINUTE)) * step * MINUTE + offset;
  for (let t = first; t <= toMs; t += step * MINUTE) {
    root.append(svg("line", { x1: x(t), x2: x(t), y1: top + plotH, y2: top + plotH + 4, class: "axis-line" }));
    root.append(svg("text", { x: x(t), y: height - 8, class: "axis x-tick", "text-anchor": "middle", "data-time": new Date(t).toISOString() }, clock(t)));
  }
  root.append(svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "axis-line" }));

  // Legend, right-aligned in the title row.
  let legendX = width - right;
  for (const s of [...series].reverse()) {
    const label = svg("text", { x: legendX, y: 14, class: `legend ${s.className}`, "text-anchor": "end" }, `■ ${s.name}`);
    root.append(label);
    legendX -= 12 + 7 * (s.name.length + 2);
  }

  for (const s of series) {
    const pts = s.points.filter((p) => p[1] !== null && Number.isFinite(p[1]) && p[0] >= fromMs && p[0] <= toMs);
    if (pts.length === 0) continue;
    let d = "";
    pts.forEach(([t, v], i) => {
      if (i === 0) d += `M${x(t).toFixed(1)},${yOf(v).toFixed(1)}`;
      else if (s.step) d += ` H${x(t).toFixed(1)} V${yOf(v).toFixed(1)}`;
      else d += ` L${x(t).toFixed(1)},${yOf(v).toFixed(1)}`;
    });
    if (s.step) d += ` H${x(toMs).toFixed(1)}`;
    root.append(svg("path", { d, class: `series ${s.className}` }));
    for (const [t, v] of s.marks === false ? [] : pts) {
      const dot = svg("circle", { cx: x(t).toFixed(1), cy: yOf(v).toFixed(1), r: 2.5, class: `point ${s.className}`, "data-series": s.name, "data-time": new Date(t).toISOString(), "data-value": String(v) });
      dot.append(svg("title", {}, `${clock(t)} · ${s.name}: ${y.format(v)}`));
      root.append(dot);
    }
  }
  if (values.length === 0) root.append(svg("text", { x: left + plotW / 2, y: top + plotH / 2, class: "axis", "text-anchor": "middle" }, "no data in this span"));

  // Hover readout: a vertical rule and each series' value at the nearest point.
  const rule = svg("line", { y1: top, y2: top + plotH, class: "hover-rule", visibility: "hidden" });
  const readout = svg("text", { x: left + 4, y: top + 12, class: "readout", visibility: "hidden" });
  root.append(rule, readout);
  root.addEventListener("mousemove", (event) => {
    const box = root.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const t = fromMs + ((px - left) / plotW) * (toMs - fromMs);
    const parts = [];
    for (const s of series) {
      let best;
      for (const p of s.points) if (p[1] !== null && (!best || Math.abs(p[0] - t) < Math.abs(best[0] - t))) best = p;
      if (best && Math.abs(best[0] - t) <= Math.max(2 * MINUTE, (toMs - fromMs) / 60)) parts.push(`${s.name} ${y.format(best[1])}`);
    }
    if (px < left || px > left + plotW) return;
    rule.setAttribute("x1", String(px));
    rule.setAttribute("x2", String(px));
    rule.setAttribute("visibility", "visible");
    readout.textContent = `${clock(t)}  ${parts.join(" · ") || "no data"}`;
    readout.setAttribute("visibility", "visible");
  });
  root.addEventListener("mouseleave", () => {
    rule.setAttribute("visibility", "hidden");
    readout.setAttribute("visibility", "hidden");
  });
  return root;
}

/**
 * The overview's last hour of a route, a point a minute: the share served by the service (line, 0–100%)
 * and the error rate (red bars, 0–100%). Minutes without traffic are gaps.
 */
export function sparkline({ fromMinute, toMinute, points }) {
  const width = 96;
  const height = 26;
  const x = (m) => 1 + ((m - fromMinute) / Math.max(1, toMinute - fromMinute)) * (width - 2);
  const root = svg("svg", { class: "sparkline", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  root.append(svg("line", { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: "grid" }));
  let d = "";
  let previous;
  let served = 0;
  let requests = 0;
  let errors = 0;
  for (const p of points) {
    requests += p.requests;
    if (p.targetShare !== null) served += p.targetShare * p.requests;
    if (p.errorRate !== null) errors += p.errorRate * p.requests;
    if (p.errorRate) root.append(svg("rect", { x: x(p.minute) - 1, y: height - 1 - p.errorRate * (height - 2), width: 2, height: p.errorRate * (height - 2), class: "spark-errors" }));
    if (p.targetShare === null) continue;
    const y = height - 1 - p.targetShare * (height - 2);
    d += `${previous === p.minute - 1 ? " L" : " M"}${x(p.minute).toFixed(1)},${y.toFixed(1)}`;
    previous = p.minute;
  }
  if (d) root.append(svg("path", { d: d.trim(), class: "spark-share" }));
  const summary = requests === 0 ? "no traffic in the last hour" : `last hour: ${requests} requests, ${((served / requests) * 100).toFixed(0)}% served by the service, ${((errors / requests) * 100).toFixed(1)}% errors`;
  root.setAttribute("aria-label", summary);
  root.append(svg("title", {}, summary));
  return root;
}
