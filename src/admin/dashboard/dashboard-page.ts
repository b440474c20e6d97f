import { readFileSync } from "node:fs";

/** The dashboard's assets, read once: served by the admin listener itself (no CDN can be reached). */
const CSS = readFileSync(new URL("./dashboard.css", import.meta.url), "utf8");
const SCRIPT = readFileSync(new URL("./dashboard.js", import.meta.url), "utf8");
const CHARTS = readFileSync(new URL("./charts.js", import.meta.url), "utf8");

/**
 * The page shell. It holds no data: the script fetches everything from the admin API and renders it
 * with `textContent`, so a route id or a response body holding HTML is shown as text, never run.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strangler-fig: migration dashboard</title>
<link rel="stylesheet" href="/dashboard/dashboard.css">
</head>
<body>
<header><h1><a href="#/">strangler-fig</a></h1><nav><a href="#/">Routes</a> · <a href="#/map" id="nav-map">Map</a></nav><span class="muted" id="who"></span> <span class="muted" id="updated">loading…</span></header>
<main id="app"></main>
<script type="module" src="/dashboard/dashboard.js"></script>
</body>
</html>
`;

/** Tight enough that injected markup could do nothing even if it were ever parsed. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const dashboardAssets = {
  page: PAGE,
  css: CSS,
  script: SCRIPT,
  charts: CHARTS,
} as const;
