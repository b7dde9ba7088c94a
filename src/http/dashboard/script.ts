/**
 * The dashboard's script (served as `/dashboard/app.js`; the CSP allows no inline script). Plain
 * browser JavaScript without template literals, so it can live in this string. Charts are SVG
 * built with DOM calls; every bar and point carries its numbers as data attributes.
 */
export const DASHBOARD_JS = `"use strict";
(function () {
  var KEY_ITEM = "verifyd.adminKey";
  var SVG = "http://www.w3.org/2000/svg";
  var STAGES = ["requested", "sent", "delivered", "checked", "approved"];
  var DAY_MS = 86400000;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function pct(x) { return (Math.round(x * 1000) / 10) + "%"; }
  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 120000) return (Math.round(ms / 100) / 10) + " s";
    return (Math.round(ms / 6000) / 10) + " min";
  }
  function fixed(x) { return x === null || x === undefined ? "–" : String(Math.round(x * 100) / 100); }

  function api(path) {
    return fetch(path, { headers: { authorization: "Bearer " + sessionStorage.getItem(KEY_ITEM) } }).then(function (res) {
      if (res.status === 401) { signOut("The key was refused."); throw new Error("unauthorized"); }
      return res;
    });
  }
  function apiJson(path) {
    return api(path).then(function (res) {
      if (!res.ok) return res.json().then(function (p) { throw new Error(p.detail || ("HTTP " + res.status)); });
      return res.json();
    });
  }

  function showLogin(message) {
    $("content").hidden = true; $("controls").hidden = true; $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("key").focus();
  }
  function signOut(message) { sessionStorage.removeItem(KEY_ITEM); showLogin(message); }

  function funnelChart(container, groups, dim) {
    container.replaceChildren();
    if (!groups.length) { container.append(el("p", { class: "empty" }, "No verifications in this range.")); return; }
    var max = Math.max.apply(null, groups.map(function (g) { return g.requested; }).concat([1]));
    var labelW = 92, barH = 12, rowGap = 3, groupGap = 14, width = 520, plotW = width - labelW - 120;
    var groupH = STAGES.length * (barH + rowGap) + groupGap;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + (groups.length * groupH + 4), role: "img",
      "aria-label": "Funnel by " + dim, "data-chart": "funnel-" + dim });
    groups.forEach(function (g, gi) {
      var name = g.key[dim];
      var top = gi * groupH + 2;
      var group = svg("g", { "data-group": name, "data-conversion": String(g.conversion) });
      group.append(svg("text", { x: 0, y: top + 12, "font-weight": "600" }, name));
      group.append(svg("text", { x: 0, y: top + 27, class: "muted" }, pct(g.conversion) + " approved"));
      STAGES.forEach(function (stage, si) {
        var y = top + si * (barH + rowGap);
        var w = Math.max(1, Math.round((g[stage] / max) * plotW));
        var bar = svg("rect", { x: labelW, y: y, width: w, height: barH, rx: 2, class: "stage-" + si,
          "data-group": name, "data-stage": stage, "data-value": String(g[stage]) });
        bar.append(svg("title", {}, name + " " + stage + ": " + g[stage]));
        group.append(bar);
        group.append(svg("text", { x: labelW + w + 6, y: y + barH - 2, "data-label": stage }, stage + " " + g[stage]));
      });
      root.append(group);
    });
    var legend = el("div", { class: "legend" });
    STAGES.forEach(function (stage, si) {
      var item = el("span"); item.append(el("i", { class: "stage-" + si })); item.append(stage); legend.append(item);
    });
    container.append(root, legend);
  }

  function trendChart(container, groups, dim, from, to) {
    container.replaceChildren();
    if (!groups.length) { container.append(el("p", { class: "empty" }, "No verifications in this range.")); return; }
    var days = [];
    for (var t = Date.parse(from.slice(0, 10)); t < Date.parse(to); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
    var seriesNames = [];
    groups.forEach(function (g) { if (seriesNames.indexOf(g.key[dim]) < 0) seriesNames.push(g.key[dim]); });
    var width = 520, height = 200, left = 40, right = 22, top = 10, bottom = 26;
    var plotW = width - left - right, plotH = height - top - bottom;
    var x = function (i) { return left + (days.length > 1 ? (i / (days.length - 1)) * plotW : plotW / 2); };
    var y = function (v) { return top + (1 - v) * plotH; };
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": "Conversion by " + dim + " per day", "data-chart": "trend-" + dim });
    [0, 0.5, 1].forEach(function (v) {
      root.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "axis" }));
      root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "muted" }, pct(v)));
    });
    var step = Math.max(1, Math.ceil(days.length / 6));
    days.forEach(function (d, i) {
      if (i % step === 0 || i === days.length - 1)
        root.append(svg("text", { x: x(i), y: height - 8, "text-anchor": i === days.length - 1 ? "end" : "middle", class: "muted" }, d.slice(5)));
    });
    seriesNames.forEach(function (name, si) {
      var cls = "series-" + (si % 5);
      var points = [];
      var series = svg("g", { "data-series": name });
      days.forEach(function (d, i) {
        var g = groups.filter(function (x2) { return x2.key.day === d && x2.key[dim] === name; })[0];
        if (!g) return;
        points.push(x(i) + "," + y(g.conversion));
        var dot = svg("circle", { cx: x(i), cy: y(g.conversion), r: 3.5, class: cls, "data-series": name, "data-day": d,
          "data-requested": String(g.requested), "data-approved": String(g.approved), "data-conversion": String(g.conversion) });
        dot.append(svg("title", {}, name + " " + d + ": " + g.approved + "/" + g.requested + " approved (" + pct(g.conversion) + ")"));
        series.append(dot);
      });
      if (points.length > 1) series.insertBefore(svg("polyline", { points: points.join(" "), class: "line " + cls }), series.firstChild);
      root.append(series);
    });
    var legend = el("div", { class: "legend" });
    seriesNames.forEach(function (name, si) {
      var item = el("span"); item.append(el("i", { class: "series-" + (si % 5) })); item.append(name); legend.append(item);
    });
    container.append(root, legend);
  }

  // Cost per approval as bars, cheapest first: one bar per country and channel, its conversion and
  // billable messages per approval beside it (a cheap route that stopped converting shows here too).
  function costChart(container, groups) {
    container.replaceChildren();
    var priced = groups.filter(function (g) { return g.cost_per_approval !== null; });
    if (!groups.length || groups[0].currency === null) {
      container.append(el("p", { class: "empty", "data-cost": "none" }, "No price table configured.")); return;
    }
    if (!priced.length) { container.append(el("p", { class: "empty", "data-cost": "none" }, "No approved verifications in this range.")); return; }
    priced.sort(function (a, b) { return a.cost_per_approval - b.cost_per_approval; });
    var max = Math.max.apply(null, priced.map(function (g) { return g.cost_per_approval; }).concat([1e-9]));
    var labelW = 110, barH = 16, gap = 8, width = 1040, plotW = width - labelW - 380;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + (priced.length * (barH + gap) + 4), role: "img",
      "aria-label": "Cost per approval by country and channel", "data-chart": "cost" });
    priced.forEach(function (g, i) {
      var name = g.key.country + " · " + g.key.channel;
      var y = i * (barH + gap) + 2;
      var w = Math.max(1, Math.round((g.cost_per_approval / max) * plotW));
      var row = svg("g", { "data-group": name, "data-cost-per-approval": String(g.cost_per_approval),
        "data-conversion": String(g.conversion) });
      row.append(svg("text", { x: 0, y: y + barH - 3, "font-weight": "600" }, name));
      var bar = svg("rect", { x: labelW, y: y, width: w, height: barH, rx: 2, class: "series-" + (i % 5) });
      bar.append(svg("title", {}, name + ": " + g.cost_per_approval + " " + g.currency + " per approval"));
      row.append(bar);
      row.append(svg("text", { x: labelW + w + 6, y: y + barH - 3 },
        g.cost_per_approval + " " + g.currency + " · " + pct(g.conversion) + " approved · " +
        fixed(g.billable_messages_per_approval) + " billable msgs/approval"));
      root.append(row);
    });
    container.append(root);
  }

  function totals(groups) {
    var sum = { requested: 0, sent: 0, delivered: 0, checked: 0, approved: 0, messages_sent: 0 };
    groups.forEach(function (g) { for (var k in sum) sum[k] += g[k]; });
    var box = $("totals");
    box.replaceChildren();
    var cards = [["Requested", sum.requested], ["Sent", sum.sent], ["Delivered", sum.delivered], ["Checked", sum.checked],
      ["Approved", sum.approved], ["Conversion", sum.requested ? pct(sum.approved / sum.requested) : "–"],
      ["Messages per approval", sum.approved ? fixed(sum.messages_sent / sum.approved) : "–"]];
    cards.forEach(function (c) {
      var card = el("div", { class: "card", "data-total": c[0].toLowerCase() });
      card.append(el("b", {}, c[1]), el("span", {}, c[0]));
      box.append(card);
    });
  }

  function providerTable(groups) {
    var body = $("providers").querySelector("tbody");
    body.replaceChildren();
    if (!groups.length) { var r = el("tr"); r.append(el("td", { colspan: 8, class: "empty" }, "None.")); body.append(r); return; }
    groups.forEach(function (g) {
      var row = el("tr", { "data-provider": g.key.provider });
      row.append(el("td", {}, g.key.provider));
      [g.requested, g.sent, g.delivered, g.approved, pct(g.conversion), duration(g.median_time_to_approve_ms), fixed(g.messages_per_approval)]
        .forEach(function (v) { row.append(el("td", { class: "num" }, v)); });
      body.append(row);
    });
  }

  function recentTable(rows) {
    var body = $("recent").querySelector("tbody");
    body.replaceChildren();
    if (!rows.length) { var r = el("tr"); r.append(el("td", { colspan: 5, class: "empty" }, "None.")); body.append(r); return; }
    rows.forEach(function (v) {
      var row = el("tr", { "data-verification": v.id });
      row.append(el("td", {}, v.created_at.replace("T", " ").slice(0, 19)));
      row.append(el("td", { class: "masked" }, v.to_masked || "–"));
      row.append(el("td", {}, v.country || "–"));
      row.append(el("td", { class: "status-" + v.status }, v.status));
      var cell = el("td");
      if (!v.deliveries.length) cell.append("–");
      v.deliveries.forEach(function (d) {
        var text = d.channel + " · " + d.provider + " · " + d.status + (d.error_code ? " (" + d.error_code + ")" : "");
        cell.append(el("span", { class: "attempt " + d.status }, text));
      });
      row.append(cell);
      body.append(row);
    });
  }

  var REASONS = {
    low_conversion: "its sends stopped turning into approvals",
    unproven: "no approval on record, and its first sends found none"
  };
  var SCOPES = { prefix: "prefix", range: "range", country: "country", domain: "email domain" };
  function ordinal(n) { return n + (n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"); }
  function hours(ms) { return ms >= 3600000 ? (Math.round(ms / 360000) / 10) + " h" : Math.round(ms / 60000) + " min"; }

  // Blocks opened by the conversion guard: what, why (reason code and its meaning), the counts that
  // tripped it, which repeat it is (each lasts longer), when it ends, and whether it refuses (enforce).
  function blocksList(res) {
    var box = $("blocks");
    box.replaceChildren();
    var none = function () { box.append(el("p", { class: "empty", "data-blocks": "none" }, "none")); };
    if (!res || !res.ok) { none(); return Promise.resolve(); }
    return res.json().then(function (body) {
      var items = body && Array.isArray(body.data) ? body.data : [];
      if (!items.length) { none(); return; }
      var list = el("table", { "data-blocks": String(items.length) });
      var head = el("tr");
      ["Destination", "Reason", "Sends / approvals", "Block", "Ends (UTC)", "Mode"].forEach(function (c) { head.append(el("th", {}, c)); });
      list.append(head);
      items.forEach(function (b) {
        var row = el("tr", { "data-block": b.id, "data-reason": b.reason, "data-repeat": String(b.repeat) });
        var reason = el("td");
        reason.append(el("code", {}, b.reason));
        reason.append(el("div", { class: "muted" }, REASONS[b.reason.replace(/_(prefix|range|country|domain)$/, "")] || ""));
        var lasts = Date.parse(b.expires_at) - Date.parse(b.created_at);
        [el("td", {}, (SCOPES[b.scope] || b.scope) + " " + b.key), reason,
          el("td", {}, b.sends + " / " + b.approvals),
          el("td", {}, ordinal(b.repeat) + " block, " + hours(lasts)),
          el("td", {}, b.expires_at.slice(0, 16).replace("T", " ")),
          el("td", {}, b.mode === "monitor" ? "monitor (refuses nothing)" : "enforce")].forEach(function (c) { row.append(c); });
        list.append(row);
      });
      box.append(list);
    });
  }

  function load() {
    $("login").hidden = true; $("content").hidden = false; $("controls").hidden = false;
    $("status").textContent = "Loading…";
    var days = Number($("range").value);
    // The range is anchored on the server's clock: the first answer says what "now" is there.
    return apiJson("/v1/analytics?group_by=channel").then(function (first) {
      var to = first.to;
      var from = new Date(Date.parse(to) - days * DAY_MS).toISOString();
      var q = function (groupBy) { return apiJson("/v1/analytics?group_by=" + groupBy + "&from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to)); };
      return Promise.all([q("channel"), q("country"), q("day,channel"), q("day,country"), q("provider"),
        apiJson("/v1/analytics/recent?limit=20"), api("/v1/abuse/blocks").catch(function () { return null; }), q("country,channel")])
        .then(function (r) {
          totals(r[0].groups);
          funnelChart($("funnel-channel"), r[0].groups, "channel");
          funnelChart($("funnel-country"), r[1].groups, "country");
          trendChart($("trend-channel"), r[2].groups, "channel", from, to);
          trendChart($("trend-country"), r[3].groups, "country", from, to);
          providerTable(r[4].groups);
          recentTable(r[5].data);
          costChart($("cost-chart"), r[7].groups);
          return blocksList(r[6]).then(function () {
            $("status").textContent = "From " + from.slice(0, 16).replace("T", " ") + " to " + to.slice(0, 16).replace("T", " ") + " UTC";
            document.body.setAttribute("data-loaded", "true");
          });
        });
    }).catch(function (err) {
      if (err.message !== "unauthorized") $("status").textContent = "Could not load: " + err.message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login").addEventListener("submit", function (event) {
      event.preventDefault();
      sessionStorage.setItem(KEY_ITEM, $("key").value.trim());
      $("key").value = "";
      load();
    });
    $("refresh").addEventListener("click", load);
    $("range").addEventListener("change", load);
    $("signout").addEventListener("click", function () { signOut(""); });
    if (sessionStorage.getItem(KEY_ITEM)) load(); else showLogin("");
  });
})();
`;
