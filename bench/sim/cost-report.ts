import type { CostOutcome, CostRow } from "./cost-model.js";

/** The cost model's two runs side by side, per country and in all, as a Markdown table. */

function total(rows: readonly CostRow[]): CostRow {
  const sum: CostRow = { country: "all", starts: 0, approvals: 0, billed: 0, reportedCost: 0, reportedCostPerApproval: null };
  for (const r of rows) {
    sum.starts += r.starts;
    sum.approvals += r.approvals;
    sum.billed += r.billed;
    sum.reportedCost += r.reportedCost;
  }
  return sum;
}

const perApproval = (r: CostRow) => (r.approvals === 0 ? null : r.billed / r.approvals);
const money = (x: number | null) => (x === null ? "–" : x.toFixed(4));
const pct = (part: number, whole: number) => (whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)} %`);

/** Saving per approval of `learned` over `fixed`, as a share of `fixed` (negative: it cost more). */
export function saving(fixed: CostRow, learned: CostRow): number | null {
  const a = perApproval(fixed);
  const b = perApproval(learned);
  return a === null || b === null || a === 0 ? null : (a - b) / a;
}

export function costTable(fixed: CostOutcome, learned: CostOutcome): string {
  const rows = [
    ...fixed.rows.map((r, i) => [r, learned.rows[i] as CostRow] as const),
    [total(fixed.rows), total(learned.rows)] as const,
  ];
  const lines = [
    "| Country | Starts | Conversion, fixed / learned | Cost per approval, fixed | Cost per approval, learned | Saving |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map(([f, l]) => {
      const s = saving(f, l);
      return `| ${f.country} | ${f.starts} | ${pct(f.approvals, f.starts)} / ${pct(l.approvals, l.starts)} | ${money(perApproval(f))} | ${money(perApproval(l))} | ${s === null ? "–" : `${(100 * s).toFixed(1)} %`} |`;
    }),
  ];
  return [
    ...lines,
    "",
    `Learned starts that explored another first step: ${learned.explored}. Costs in EUR, as the model's providers billed them; verifyd's analytics reported ${money(total(fixed.rows).reportedCost)} and ${money(total(learned.rows).reportedCost)} in all.`,
  ].join("\n");
}
