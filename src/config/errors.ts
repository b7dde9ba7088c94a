import { readFileSync } from "node:fs";

/**
 * What both halves of the configuration (the environment in `env.ts`, the JSON file in `file.ts`)
 * share, kept apart so that neither has to import the other's module for it.
 */

/** A configuration problem, phrased for the operator: it names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads a file's text; tests pass their own, so that secrets and config files need no disk. */
export type ReadFile = (path: string) => string;

export const readTextFile: ReadFile = (path) => readFileSync(path, "utf8");
