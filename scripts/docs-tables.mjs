// Rewrites the documentation tables that mirror code tables, between their markers:
//   docs/configuration.md  "config": every environment variable and its default (src/config/settings.ts, limits.ts)
//   docs/configuration.md  "limits": every rate-limit rule and its default (src/config/limits.ts)
//   docs/errors.md         "errors": every error code and its HTTP status (src/http/problem.ts)
// The code decides which rows exist, their order and the code-derived columns; the prose columns
// (Meaning, Counts, Key) are kept from the page, by row. A new row gets an empty prose cell to fill in.
// `--check` writes nothing and exits 1 when a page differs from what this would write, or a prose
// cell is empty (the documentation test runs it).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");

execFileSync(process.execPath, [join(root, "scripts/build-if-stale.mjs")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const { SETTINGS, INPUTS } = await import(join(root, "dist/config/settings.js"));
const { LIMIT_SETTINGS } = await import(join(root, "dist/config/limits.js"));
const { settingsOf } = await import(join(root, "dist/config/table.js"));
const { ERROR_TABLE } = await import(join(root, "dist/http/problem.js"));

/** Variables read outside the settings tables, with the text of their Default cell. */
const OTHER_VARIABLES = [
  // src/sea.ts: the single executable's extraction folder.
  { variable: "VERIFYD_CACHE_DIR", default: undefined },
];

/** The default a zod schema fills in for a missing value, before any transform; undefined when none. */
function rawDefault(schema) {
  const def = schema?._zod?.def;
  if (!def) return undefined;
  if (def.type === "default") return def.defaultValue;
  if (def.type === "pipe") return rawDefault(def.in);
  if (def.type === "optional" || def.type === "nullable") return rawDefault(def.innerType);
  return undefined;
}

const code = (text) => `\`${text}\``;
/** A default from the code, as the Default cell shows it; undefined when the code has none. */
const defaultCell = (value) => (value === undefined || value === "" ? undefined : code(String(value)));

/**
 * Each table: its page, its columns, and its rows from the code. A row is its key, the cells the
 * code decides (undefined: keep the page's cell, else "none"), and the columns kept from the page.
 */
const TABLES = {
  config: {
    page: "docs/configuration.md",
    columns: ["Variable", "Default", "Meaning"],
    prose: ["Meaning"],
    rows: () => [
      ...[...settingsOf(SETTINGS), ...settingsOf(INPUTS)].map((s) => ({
        key: s.variable,
        cells: { Variable: code(s.variable), Default: defaultCell(rawDefault(s.schema)) },
      })),
      ...OTHER_VARIABLES.map((v) => ({ key: v.variable, cells: { Variable: code(v.variable), Default: v.default } })),
    ],
  },
  limits: {
    page: "docs/configuration.md",
    columns: ["Rule", "Default", "Counts", "Key"],
    prose: ["Counts", "Key"],
    rows: () =>
      Object.entries(LIMIT_SETTINGS).map(([rule, s]) => ({
        key: rule,
        cells: { Rule: code(rule), Default: defaultCell(rawDefault(s.schema)) },
      })),
  },
  errors: {
    page: "docs/errors.md",
    columns: ["Code", "HTTP", "Meaning"],
    prose: ["Meaning"],
    rows: () =>
      Object.entries(ERROR_TABLE).map(([name, { status }]) => ({
        key: name,
        cells: { Code: code(name), HTTP: String(status) },
      })),
  },
};

const START = /^<!-- table "(\w+)": .*-->$/;
const END = "<!-- end of table -->";

/** A table row's cells: split on `|` outside code spans and not escaped. */
function cellsOf(line) {
  const cells = [];
  let cell = "";
  let inCode = false;
  const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "`") inCode = !inCode;
    if (ch === "|" && !inCode && body[i - 1] !== "\\") {
      cells.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/** The page's rows of a table, by key (the first cell without its backticks). */
function existingRows(lines, columns) {
  const rows = new Map();
  for (const line of lines.filter((l) => l.startsWith("|")).slice(2)) {
    const cells = cellsOf(line);
    rows.set(cells[0].replaceAll("`", ""), Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ""])));
  }
  return rows;
}

function render(table, existing) {
  const empty = [];
  const lines = [`| ${table.columns.join(" | ")} |`, `| ${table.columns.map(() => "---").join(" | ")} |`];
  for (const row of table.rows()) {
    const kept = existing.get(row.key) ?? {};
    const cells = table.columns.map((column) => {
      if (table.prose.includes(column)) {
        const text = kept[column] ?? "";
        if (text === "") empty.push(`${row.key}: ${column}`);
        return text;
      }
      return row.cells[column] ?? (kept[column] || "none");
    });
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return { lines, empty };
}

let failed = false;
const pages = new Map();
for (const [name, table] of Object.entries(TABLES)) {
  const path = join(root, table.page);
  const lines = (pages.get(path) ?? readFileSync(path, "utf8")).split("\n");
  const start = lines.findIndex((line) => START.exec(line)?.[1] === name);
  const end = lines.indexOf(END, start);
  if (start === -1 || end === -1) {
    console.error(`${table.page}: no table "${name}" (a line <!-- table "${name}": … --> and a line ${END})`);
    failed = true;
    continue;
  }
  const body = lines.slice(start + 1, end);
  const { lines: rendered, empty } = render(table, existingRows(body, table.columns));
  const next = [...lines.slice(0, start + 1), ...rendered, ...lines.slice(end)].join("\n");
  for (const cell of empty) console.error(`${table.page}: table "${name}": write the ${cell.replace(": ", " cell of ")}`);
  if (empty.length > 0) failed = true;
  if (check && body.join("\n") !== rendered.join("\n")) {
    const before = new Set(body);
    const changed = rendered.filter((line) => !before.has(line)).map((line) => cellsOf(line)[0]);
    const removed = body.filter((line) => !rendered.includes(line)).map((line) => cellsOf(line)[0]);
    console.error(
      `${table.page}: table "${name}" differs from the code (new or changed: ${changed.join(", ") || "none"}; ` +
        `dropped or changed: ${removed.join(", ") || "none"}): run npm run docs:tables`,
    );
    failed = true;
  }
  pages.set(path, next);
}

if (!check) {
  for (const [path, text] of pages) writeFileSync(path, text);
}
process.exit(failed ? 1 : 0);
