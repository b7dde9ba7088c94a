import { closest, distance } from "fastest-levenshtein";
import type { z } from "zod";

/**
 * Configuration problems phrased to teach: a misspelled name is answered with the closest known
 * one, a missing field is called required, and every line names the setting it is about.
 */

/** The known name closest to `name`, when it is near enough to be a typo (a third of its letters, at least two). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(name, known);
  const folded = distance(name.toLowerCase(), best.toLowerCase());
  return folded <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** ` (did you mean "twilio"?)`, or nothing when no known name is near. */
export function didYouMean(name: string, known: readonly string[]): string {
  const best = closestName(name, known);
  return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
};
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The field names of the object schema found at `path` inside `schema` (through optionals, defaults, arrays, records). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  let rest = [...path];
  while (current) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else if (rest.length === 0) return def.shape ? Object.keys(def.shape) : [];
    else {
      const [segment, ...tail] = rest;
      rest = tail;
      if (def.type === "object") current = def.shape?.[String(segment)];
      else if (def.type === "array") current = def.element;
      else if (def.type === "record") current = def.valueType;
      else return [];
    }
  }
  return [];
}

const pathText = (prefix: string, path: readonly PropertyKey[]) =>
  [prefix, ...path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))].join("").replace(/^\./, "");

/**
 * One line per problem, each starting with where it is (`prefix` and the issue's path): unknown keys
 * name the key and the closest known one, and a missing field says it is required.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, prefix: string): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map(
        (key) =>
          `${pathText(prefix, [...issue.path, key])}: unknown setting${didYouMean(key, known)} (known: ${known.join(", ")})`,
      );
    }
    const where = pathText(prefix, issue.path);
    if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return [`${where}: required`];
    return [`${where}: ${issue.message}`];
  });
}
