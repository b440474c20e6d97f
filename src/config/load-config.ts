import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { createJiti } from "jiti";
import { ConfigError } from "./config-error.ts";
import type { StranglerConfig } from "./schema.ts";
import { validateConfig } from "./validate.ts";

/**
 * Loads `routes.config.ts` (or .js/.mjs) as TypeScript at run time, with no build step, and validates it.
 * Each call evaluates the file afresh (no module cache), so a hot reload sees the edit and what it imports.
 * `path` may be relative to the working directory, as the CLI takes it (`strangler check routes.config.ts`):
 * the loader is handed the absolute path, since it reads a bare relative name as a package to look up.
 * @throws ConfigError when the file is missing, does not evaluate, or does not pass the schema.
 */
export async function loadConfigFile(path: string): Promise<StranglerConfig> {
  try {
    await access(path);
  } catch {
    throw new ConfigError(path, [`file not found: ${path} (set --config or CONFIG to the routes file)`]);
  }
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true });
  let loaded: unknown;
  try {
    loaded = await jiti.import(resolve(path), { default: true });
  } catch (error) {
    throw new ConfigError(path, [`could not evaluate the file: ${(error as Error).message}`]);
  }
  return validateConfig(loaded, path);
}
