import { Hono } from "hono";
import type { ReadinessCheck } from "../../core/model.js";
import type { Store } from "../../core/store/index.js";
import type { AppEnv } from "../context.js";
import { type ProblemInput, problem } from "../problem.js";

/** A readiness condition beyond the store's own (e.g. every routed provider is configured). */
export type ReadinessProbe = () => Promise<ReadinessCheck>;

export interface ReadinessDeps {
  store: Pick<Store, "readiness">;
  probes?: ReadinessProbe[];
}

/**
 * Every readiness check, run at once: the database's and the extra probes'. `null` when all pass,
 * else the problem `/readyz` answers, listing each failing check.
 */
export async function failingReadiness(deps: ReadinessDeps): Promise<ProblemInput | null> {
  const checks = await Promise.all([
    deps.store.readiness().catch((err: Error) => [{ name: "database", ok: false, detail: err.message }]),
    ...(deps.probes ?? []).map((probe) =>
      probe().then(
        (check) => [check],
        (err: Error) => [{ name: "probe", ok: false, detail: err.message }],
      ),
    ),
  ]);
  const failing = checks.flat().filter((check) => !check.ok);
  if (failing.length === 0) return null;
  return {
    code: "service_unavailable",
    detail: `not ready: ${failing.map((check) => check.name).join(", ")}`,
    extensions: { checks: failing.map(({ name, detail }) => ({ name, detail })) },
  };
}

/**
 * Liveness (`/healthz`) answers while the process runs. Readiness (`/readyz`) also needs a
 * writable, fully migrated database and the extra probes; it lists every failing check.
 */
export function healthRoutes(deps: ReadinessDeps & { version: string }) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", async (c) => {
    const failing = await failingReadiness(deps);
    return failing ? problem(c, failing) : c.json({ status: "ready" });
  });
  return app;
}
