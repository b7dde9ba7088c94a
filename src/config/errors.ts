import { readFileSync } from "node:fs";

/**
 * What both halves of the configuration (the environment in `env.ts`, the JSON file in `file.ts`)
 * share, kept apart so that neither has to import the other's module for it.
 */

/** A configuration problem, phrased for the operator: it names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * A start the machine refuses, though the configuration is valid: the port is taken, the database
 * is served by another process. Phrased for the operator, with what to do; shown without a stack.
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Reads a file's text; tests pass their own, so that secrets and config files need no disk. */
export type ReadFile = (path: string) => string;

export const readTextFile: ReadFile = (path) => readFileSync(path, "utf8");
