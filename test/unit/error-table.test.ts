import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_TABLE } from "../../src/http/problem.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The rows of README's error table: the first table under "## Errors", as code → HTTP status. */
function readmeErrorTable(): Map<string, number> {
  const section = README.split(/^## Errors$/m)[1]?.split(/^## /m)[0] ?? "";
  const rows = new Map<string, number>();
  for (const [, code, status] of section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)) {
    expect(rows.has(code as string), `${code} is listed twice`).toBe(false);
    rows.set(code as string, Number(status));
  }
  return rows;
}

/** Every code verifyd answers with is documented, with its status, and nothing else is. */
describe("README's error table", () => {
  it("lists exactly the codes of the error table, each with its HTTP status", () => {
    const documented = readmeErrorTable();
    const actual = new Map(Object.entries(ERROR_TABLE).map(([code, { status }]) => [code, status as number]));
    expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(actual));
  });
});
