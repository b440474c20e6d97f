/**
 * The CLI's help: the usage it prints for `strangler --help` (and with a usage error), and each command's
 * own for `strangler help <command>`. Kept apart from the CLI's run so that docs/reference/cli.md is
 * generated from the same text (`npm run docs`).
 */
export const USAGE = `usage:
  strangler routes                                   list routes with configured and live percentages
  strangler route <id>                               one route, in full
  strangler backends                                 each backend's destinations: state, in flight, health
  strangler rollout <id> <percent> --reason "..."    set a route's live percentage
  strangler rollback <id> --reason "..."             send a route back to legacy (0%)
  strangler audit [--route <id>] [--limit <n>]       the audit log, newest first
  strangler promote start|pause|resume|step|approve <id> --reason "..."   progressive promotion
  strangler resume <id> --reason "..."               lift a halt (after a guard) or a pause
  strangler retire <id> --reason "..."               a route at 100%: stop consulting the monolith
  strangler flags export [--format flagd]            the live rollouts as a flagd flags file (stdout)
  strangler map [--unclaimed] [--hours <n>] [--json] the monolith's endpoints learned from traffic, busiest first
  strangler map suggest [--hours <n>] [--limit <n>]  where to cut next: routes.config.ts entries to paste
  strangler record <id> [--rate R] [--max N] --reason "..."   record a route's exchanges with the monolith, redacted
  strangler record stop <id> --reason "..."          stop the route's active recording
  strangler recordings [--route <id>]                the recordings, newest first
  strangler replay <recording>[,<recording>…] --against <backend|URL> [--sandbox] [--factor F | --rate R | --concurrency N]
                   [--fresh-monolith] [--dry-run] --reason "..."   replay a recording against a candidate, compared
  strangler check [FILE]                             validate a routes config (default routes.config.ts), start nothing
  strangler whoami                                   the token's label, role and the routes it may change
  strangler webhooks [test <name>]                   each webhook's deliveries; send one a test event
  strangler help <command>                           one command, in full
options: --url <admin url> (STRANGLER_ADMIN_URL; default http://127.0.0.1:$ADMIN_PORT, 9901),
         --token <token> (STRANGLER_ADMIN_TOKEN), --json (machine-readable output), --version, --help`;

/** Each command's own help: what it does, its arguments and options, an example. */
export const HELP: Readonly<Record<string, string>> = {
  routes:
    "strangler routes [--json]\n  Every route with its match, backends, state, configured and live percentage, and last change; then the destinations of\n  each backend that has several or health checks (or one out of service): state, requests in flight, last health check.",
  backends:
    "strangler backends [--json]\n  Every backend's destinations (instances, or the addresses of a host name): in_service, unhealthy, ejected (until when),\n  probing or leaving; requests in flight; the last health check; and whether the backend fails open (every one unhealthy).",
  route: "strangler route <id> [--json]\n  One route as the admin API shows it (JSON).",
  rollout: 'strangler rollout <id> <percent> --reason "..." [--json]\n  Sets a route\'s live percentage (0-100, 0.01 steps). Audited with the reason.\n  e.g. strangler rollout products-list 25 --reason "second cohort"',
  rollback: 'strangler rollback <id> --reason "..." [--json]\n  Sends the whole route back to the monolith (0%). Audited.',
  audit: "strangler audit [--route <id>] [--limit <n>] [--json]\n  The audit log, newest first (limit 1-500, default 50).",
  promote:
    'strangler promote start|pause|resume|step|approve <id> --reason "..." [--json]\n  Progressive promotion by evidence (the route\'s promote section). approve says yes to the step a gate holds\n  (promote.approval): taken at once if the evidence still passes (evaluated by the judge); the gate\'s approvers role is needed.',
  resume: 'strangler resume <id> --reason "..." [--json]\n  Lifts a halt (after a guard tripped) or a pause: the state follows the percentage again.',
  retire: 'strangler retire <id> --reason "..." [--json]\n  A route at 100%: stop consulting the monolith. Refused (still_served) while the monolith answered it within map.retireQuietPeriodMs.',
  flags: "strangler flags export [--format flagd]\n  The live rollouts as a flagd flag-definitions document, on stdout.",
  map: "strangler map [--unclaimed] [--hours <n>] [--json]\nstrangler map suggest [--hours <n>] [--limit <n>] [--json]\n  The endpoints learned from traffic, busiest first; suggest prints routes.config.ts entries for the next cut.",
  record:
    'strangler record <id> [--rate R] [--max N] --reason "..." [--json]\nstrangler record stop <id> --reason "..." [--json]\n  Records a share R (0-1, default 0.1) of the route\'s exchanges with the monolith, up to N (default 1000), redacted,\n  rare kinds of answers first; stop ends the route\'s active recording. Audited. Export: GET /api/recordings/<n>/export.\n  e.g. strangler record order-detail --rate 0.5 --max 200 --reason "before extracting orders"',
  replay:
    'strangler replay <recording>[,<recording>…] --against <backend|URL> [--sandbox] [--factor F | --rate R | --concurrency N] [--fresh-monolith] [--dry-run] --reason "..." [--json]\n  Sends stopped recordings\' requests (several merged by time) to a candidate service and compares each answer with the monolith\'s recorded one,\n  with the route\'s comparison rules and learned noise. Paced as recorded (× F), at R requests/s, or N in flight; a session\'s\n  requests in order. Writes only with --sandbox (never against the monolith), each with an Idempotency-Key; ids a write made\n  are mapped into the session\'s later requests. --fresh-monolith also asks the monolith for reads: what changed there is noise.\n  --dry-run says how many requests, how long, how many writes and how they authenticate, and sends nothing.\n  Waits for the verdict. Exit 0 passed, 1 failed, 3 stopped (authentication misconfigured).\n  e.g. strangler replay 3 --against http://127.0.0.1:3002 --sandbox --factor 4 --reason "orders 1.4 before the canary"',
  recordings: "strangler recordings [--route <id>] [--json]\n  Every recording, newest first: its route, state, size and its exchanged, truncated and dropped counts.",
  check: "strangler check [FILE] [--json]\n  Validates a routes config (default ./routes.config.ts, or $CONFIG) as the proxy does at start-up, and starts nothing.\n  Exit 0 when valid, 1 with the same messages as start-up when not.",
  webhooks:
    "strangler webhooks [--json]\nstrangler webhooks test <name> [--json]\n  Each webhook of routes.config.ts: its URL's origin, status (new, ok, retrying), how many audit entries it is behind,\n  events delivered and given up, the last answer. `test` sends it a signed ping now (admin role): exit 0 when it answered 2xx, 1 when not.",
  whoami: "strangler whoami [--json]\n  The token's label (the actor in the audit trail), its role (viewer, operator or admin) and the routes it may change.\n  A call the role does not cover is refused: 403 forbidden, naming the role it needs.",
  help: "strangler help <command>\n  One command, in full.",
};
