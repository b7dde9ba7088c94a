// Pre-fills verifyd's (and the baseline's) SQLite database with past verifications:
// `npm run bench:seed -- --rows 1000000 --db ./data/verifyd.db [--baseline-db ./bench.db]`.
// `npm run bench -- --rows N` seeds its own databases the same way; this is for seeding a database by hand.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { seedBaseline, seedVerifyd } from "./lib/seeding.mjs";

const HELP = `Usage: npm run bench:seed -- --rows <n> --db <verifyd.db> [--baseline-db <file>] --secret <VERIFYD_SECRET>

  --rows <n>             verifications to insert (with one delivery each), e.g. 1000000
  --db <file>            verifyd's SQLite file (migrated first; should be new or empty)
  --baseline-db <file>   also seed the bench baseline's database with the same rows
  --secret <s>           the VERIFYD_SECRET the server will run with (for columns derived from it)`;

const { values } = parseArgs({
  options: {
    rows: { type: "string" },
    db: { type: "string" },
    "baseline-db": { type: "string" },
    secret: { type: "string", default: process.env.VERIFYD_SECRET ?? "" },
    help: { type: "boolean", short: "h", default: false },
  },
});
const rows = Number(values.rows);
if (values.help || !Number.isInteger(rows) || rows < 1 || (!values.db && !values["baseline-db"])) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}
for (const file of [values.db, values["baseline-db"]]) {
  if (file && existsSync(file)) console.warn(`${file} exists: rows are added to it (ids are unique per run time)`);
}
const timed = (what, run) => {
  const t0 = performance.now();
  run();
  const s = (performance.now() - t0) / 1000;
  console.log(`${what}: ${rows} verifications in ${s.toFixed(1)} s (${Math.round(rows / s)} rows/s)`);
};
if (values.db) timed(`verifyd ${values.db}`, () => seedVerifyd(values.db, { rows, secret: values.secret }));
if (values["baseline-db"]) timed(`baseline ${values["baseline-db"]}`, () => seedBaseline(values["baseline-db"], { rows }));
