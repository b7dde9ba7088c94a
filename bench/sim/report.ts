import type { Outcome } from "./model.js";

/** The simulation's results as a Markdown table, one row per scenario, and the refusals by reason. */

const pct = (part: number, whole: number) => (whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)} %`);
const ratio = (part: number, whole: number) => (whole === 0 ? "–" : (part / whole).toFixed(2));

const reasons = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ") || "–";

export function table(outcomes: readonly Outcome[]): string {
  const header = [
    "| Scenario | Sent per approval (all / billable) | Pumping sends refused | Pumping messages paid | Real users refused | Refusals of pumping, by reason | Refusals of real users, by reason |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  const rows = outcomes.map(
    (o) =>
      `| ${o.scenario} | ${ratio(o.sent, o.approvals)} / ${ratio(o.billable, o.approvals)} | ${
        o.pumpAttempts === 0 ? "–" : `${pct(o.pumpRefused, o.pumpAttempts)} of ${o.pumpAttempts}`
      } | ${o.pumpBilled} | ${pct(o.realRefused, o.realUsers)} of ${o.realUsers} | ${reasons(o.reasons.pump)} | ${reasons(o.reasons.real)} |`,
  );
  const monitored = outcomes.filter((o) => o.monitored.pumpSends + o.monitored.realUsers > 0);
  const notes = monitored.map(
    (o) =>
      `- ${o.scenario}: would have refused ${pct(o.monitored.pumpSends, o.pumpAttempts)} of pumping sends ` +
      `(${reasons(o.monitored.reasons.pump)}) and ${pct(o.monitored.realUsers, o.realUsers)} of real users ` +
      `(${reasons(o.monitored.reasons.real)})`,
  );
  return [...header, ...rows, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}
