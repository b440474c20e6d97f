/**
 * A configuration problem that stops start-up (or refuses a hot reload).
 * `issues` holds one line per problem, each naming the field and what is wrong, e.g.
 * `routes[3].rollout.percent: must be between 0 and 100, got 140`.
 */
export class ConfigError extends Error {
  readonly code = "invalid_config";
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid config ${source}:\n  - ${issues.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}
