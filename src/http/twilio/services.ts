import type { Context } from "hono";
import { Hono } from "hono";
import type { AdminService } from "../../core/admin.js";
import { VerifydError } from "../../core/errors.js";
import type { Service } from "../../core/model.js";
import type { TwilioEnv } from "./auth.js";
import { notFound, relative, TwilioError } from "./errors.js";
import { readForm } from "./form.js";
import { serviceIdOf, serviceSid } from "./sids.js";
import { serviceView, type ViewContext } from "./views.js";

/** The service a `VA…` sid names, if the caller's key may use it; else a 20404. */
export type ServiceResolver = (c: Context<TwilioEnv>, sid: string) => Promise<Service & { createdAt?: number }>;

/**
 * A service key uses only its own service; an admin key (Twilio's account) any service. Sids of
 * generated ids are read back directly; others (`svc_default`) are matched against the listing.
 */
export function createServiceResolver(admin: AdminService): ServiceResolver {
  return async (c, sid) => {
    const { service, admin: isAdmin } = c.get("principal");
    if (serviceSid(service.id) === sid) return service;
    if (!isAdmin) throw notFound(relative(c));
    const id = serviceIdOf(sid);
    if (id) {
      try {
        return await admin.getService(id);
      } catch (err) {
        if (!(err instanceof VerifydError && err.code === "service_not_found")) throw err;
      }
    }
    const found = (await admin.listServices()).find((s) => serviceSid(s.id) === sid);
    if (!found) throw notFound(relative(c));
    return found;
  };
}

/**
 * Options of Twilio's Service that verifyd has no equivalent for are accepted and ignored
 * (LookupEnabled, SkipSmsToLandlines, Psd2Enabled, DtmfInputRequired, TtsName, Push.*, Totp.*, …).
 */
export function serviceRoutes(deps: {
  admin: AdminService;
  resolve: ServiceResolver;
  viewContext: (c: Context<TwilioEnv>) => ViewContext;
}) {
  const app = new Hono<TwilioEnv>();

  app.post("/Services", async (c) => {
    if (!c.get("principal").admin) throw new TwilioError(20403, 403, "Forbidden: only an admin key may create services");
    const form = await readForm(c);
    const name = form.required("FriendlyName").trim();
    if (name.length > 40) throw new TwilioError(60200, 400, "Invalid parameter: FriendlyName is limited to 40 characters");
    const codeLength = form.integer("CodeLength", 4, 10);
    const created = await deps.admin.createService({ name, policy: codeLength === undefined ? {} : { codeLength } });
    return c.json(serviceView(created, deps.viewContext(c)), 201);
  });

  app.get("/Services/:sid", async (c) => {
    const service = await deps.resolve(c, c.req.param("sid"));
    const entry =
      service.createdAt === undefined ? await deps.admin.getService(service.id) : { ...service, createdAt: service.createdAt };
    return c.json(serviceView(entry, deps.viewContext(c)), 200);
  });

  return app;
}
