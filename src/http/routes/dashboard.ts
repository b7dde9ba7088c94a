import { Hono } from "hono";
import type { AppEnv } from "../context.js";
import { DASHBOARD_HTML } from "../dashboard/page.js";
import { DASHBOARD_JS } from "../dashboard/script.js";
import { DASHBOARD_CSS } from "../dashboard/style.js";

/** Only same-origin scripts, styles and API calls; no inline code, no framing. */
const CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const headers = (contentType: string) => ({
  "content-type": contentType,
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
});

/** The static operations dashboard: it holds no data and needs no key; its script calls the API with one. */
export function dashboardRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/dashboard", (c) => c.body(DASHBOARD_HTML, 200, headers("text/html; charset=utf-8")));
  app.get("/dashboard/app.js", (c) => c.body(DASHBOARD_JS, 200, headers("text/javascript; charset=utf-8")));
  app.get("/dashboard/app.css", (c) => c.body(DASHBOARD_CSS, 200, headers("text/css; charset=utf-8")));
  return app;
}
