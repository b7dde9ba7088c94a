/** The dashboard's stylesheet (served as `/dashboard/app.css`; the CSP forbids inline styles). */
export const DASHBOARD_CSS = `
:root { --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff;
  --s0: #c7d2fe; --s1: #a5b4fc; --s2: #818cf8; --s3: #6366f1; --s4: #4338ca; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 14px 28px;
  background: var(--card); border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 18px; } h1 span { color: var(--muted); font-weight: 500; }
h2 { margin: 0 0 12px; font-size: 15px; }
main { padding: 20px 28px 40px; max-width: 1280px; margin: 0 auto; }
#controls { display: flex; gap: 10px; align-items: center; }
select, input, button { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { background: var(--s4); color: #fff; border-color: var(--s4); cursor: pointer; }
button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
form#login { max-width: 420px; margin: 60px auto; padding: 24px; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
form#login input { width: 100%; margin: 8px 0 12px; }
.error { color: var(--bad); min-height: 1em; }
.muted { color: var(--muted); }
section { margin-top: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card, article, table { background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 14px; } .card b { display: block; font-size: 22px; } .card span { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; align-items: start; }
article { padding: 16px; }
.chart svg { width: 100%; height: auto; display: block; }
.chart text { font-size: 11px; fill: var(--ink); } .chart text.muted { fill: var(--muted); }
.chart .axis { stroke: var(--line); }
.legend { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 8px; color: var(--muted); font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.stage-0 { fill: var(--s0); background: var(--s0); } .stage-1 { fill: var(--s1); background: var(--s1); }
.stage-2 { fill: var(--s2); background: var(--s2); } .stage-3 { fill: var(--s3); background: var(--s3); }
.stage-4 { fill: var(--s4); background: var(--s4); }
.series-0 { stroke: #4338ca; fill: #4338ca; background: #4338ca; } .series-1 { stroke: #0e9384; fill: #0e9384; background: #0e9384; }
.series-2 { stroke: #dc6803; fill: #dc6803; background: #dc6803; } .series-3 { stroke: #c11574; fill: #c11574; background: #c11574; }
.series-4 { stroke: #475467; fill: #475467; background: #475467; }
svg polyline.line { fill: none; stroke-width: 2; }
table { width: 100%; border-collapse: separate; border-spacing: 0; overflow: hidden; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.attempt { display: inline-block; margin: 0 6px 2px 0; padding: 1px 8px; border-radius: 10px; background: #eef2ff; font-size: 12px; }
.attempt.failed, .attempt.undelivered, .attempt.canceled { background: #fef3f2; color: var(--bad); }
.attempt.delivered, .attempt.read { background: #ecfdf3; color: #067647; }
.status-approved { color: #067647; font-weight: 600; } .status-failed, .status-expired { color: var(--bad); }
.empty { color: var(--muted); padding: 8px 0; }
`;
