import { expect } from "vitest";
import { ConfigError } from "../../src/config/config-error.ts";
import { validateConfig } from "../../src/config/validate.ts";

/** The lines a config is refused with; throws when it is accepted. */
export function issuesOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw, "routes.config.ts");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error("config was accepted");
}
