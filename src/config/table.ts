import { z } from "zod";

/**
 * A settings table: nested objects whose leaves are `Setting`s (an environment variable and the
 * schema that reads it). The table is the only place a setting is named: the environment schema
 * is built from its variables, and the values come back in the table's own shape, typed by
 * `Values<typeof table>`, so no interface or mapping has to repeat it.
 */

export class Setting<S extends z.ZodType = z.ZodType> {
  constructor(
    readonly variable: string,
    readonly schema: S,
    /** May be given as `<variable>_FILE`, a path to read it from (Docker and Kubernetes secrets). */
    readonly secret = false,
  ) {}
}

export const setting = <S extends z.ZodType>(variable: string, schema: S) => new Setting(variable, schema);
export const secret = <S extends z.ZodType>(variable: string, schema: S) => new Setting(variable, schema, true);

export interface Table {
  readonly [key: string]: Setting | Table;
}

/** What a table reads to: each `Setting` replaced by its schema's output. */
export type Values<T> = { -readonly [K in keyof T]: T[K] extends Setting<infer S> ? z.output<S> : Values<T[K]> };

/** The table's settings, depth first in the order written. */
export function settingsOf(table: Table): Setting[] {
  return Object.values(table).flatMap((entry) => (entry instanceof Setting ? [entry] : settingsOf(entry)));
}

/**
 * One zod object over the tables' variables, in table order (the order of its error lines). A
 * variable read twice would have one value for two settings: refused when the module loads.
 */
export function environmentSchema(...tables: Table[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const { variable, schema } of tables.flatMap(settingsOf)) {
    if (variable in shape) throw new Error(`configuration table: ${variable} is read by two settings`);
    shape[variable] = schema;
  }
  return z.object(shape);
}

/** The table's values out of the parsed environment (keyed by variable), in the table's shape. */
export function valuesOf<T extends Table>(table: T, parsed: Record<string, unknown>): Values<T> {
  const entries = Object.entries(table).map(([key, entry]) => [
    key,
    entry instanceof Setting ? parsed[entry.variable] : valuesOf(entry, parsed),
  ]);
  // The one unchecked step: each value is its setting's schema output, which is what Values<T> says.
  return Object.fromEntries(entries) as Values<T>;
}
