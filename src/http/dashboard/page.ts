/**
 * The operations dashboard's page. Assets are TypeScript string modules, not files read at run
 * time, so `tsc` output and a single-file bundle carry them alike. The page is static: the admin
 * key is typed in the browser and sent by `app.js` to the JSON API.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>verifyd · operations</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>verifyd <span>operations</span></h1>
  <div id="controls" hidden>
    <label>Range
      <select id="range">
        <option value="7">last 7 days</option>
        <option value="30" selected>last 30 days</option>
        <option value="90">last 90 days</option>
      </select>
    </label>
    <button type="button" id="refresh">Refresh</button>
    <button type="button" id="signout" class="secondary">Forget key</button>
  </div>
</header>
<main>
  <form id="login" hidden>
    <h2>Admin key</h2>
    <p>The key stays in this tab (session storage) and is sent only to this server's API.</p>
    <input id="key" type="password" autocomplete="off" placeholder="vfd_…" required minlength="16">
    <button type="submit">Open dashboard</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
  <div id="content" hidden>
    <p id="status" class="muted" role="status"></p>
    <section class="cards" id="totals"></section>
    <section class="grid">
      <article><h2>Funnel by channel</h2><div id="funnel-channel" class="chart"></div></article>
      <article><h2>Funnel by country</h2><div id="funnel-country" class="chart"></div></article>
      <article><h2>Conversion by channel, per day</h2><div id="trend-channel" class="chart"></div></article>
      <article><h2>Conversion by country, per day</h2><div id="trend-country" class="chart"></div></article>
    </section>
    <section>
      <h2>Cost per approved verification, by country and channel</h2>
      <p class="muted">Every message of a verification (fallbacks and resends included) at the price it was sent at, over the verifications approved; the channel is the one a verification ended on. Needs <code>prices</code> in the config file.</p>
      <div id="cost-chart" class="chart"></div>
    </section>
    <section>
      <h2>By provider</h2>
      <table id="providers"><thead><tr><th>Provider</th><th>Requested</th><th>Sent</th><th>Delivered</th><th>Approved</th><th>Conversion</th><th>Median to approve</th><th>Messages per approval</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Recent verifications</h2>
      <table id="recent"><thead><tr><th>Created</th><th>To</th><th>Country</th><th>Status</th><th>Delivery attempts</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Active abuse blocks</h2>
      <p class="muted">Prefixes, ranges and countries the conversion guard refuses sends to (403 <code>blocked</code>, with the reason). Before a block, a destination past its budget of unanswered sends is refused with the same reason; <code>verifyd_conversion_guard_total</code> counts both.</p>
      <div id="blocks"></div>
    </section>
  </div>
</main>
</body>
</html>
`;
