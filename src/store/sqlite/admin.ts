import { and, asc, eq, isNull, type SQL } from "drizzle-orm";
import type { ServiceStore } from "../../core/store/services.js";

type AdminOperations = Pick<
  ServiceStore,
  "createService" | "listServices" | "updateServicePolicy" | "listApiKeys" | "revokeApiKey"
>;

import type { ApiKeyEntry } from "../../core/store/services.js";
import { toServiceEntry, webhookColumns } from "../rows.js";
import type { OpenedSqlite } from "./open.js";
import { apiKeys, services } from "./schema.js";

/** The service and API key administration of the SQLite Store. */
export function createSqliteAdminOperations({ raw, db }: OpenedSqlite): AdminOperations {
  const updateTx = raw.transaction((id: string, patch: Parameters<AdminOperations["updateServicePolicy"]>[1], now: number) => {
    const row = db.select().from(services).where(eq(services.id, id)).get();
    if (!row) return null;
    const policy: Record<string, unknown> = { ...row.policy };
    for (const [field, value] of Object.entries(patch.policy)) if (value !== undefined) policy[field] = value;
    const settings: Record<string, unknown> = { ...row.settings };
    for (const [field, value] of Object.entries(patch.settings ?? {})) if (value !== undefined) settings[field] = value;
    const updated = db
      .update(services)
      .set({
        policy,
        settings,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.route !== undefined ? { route: patch.route } : {}),
        ...(patch.countryRoutes !== undefined ? { countryRoutes: patch.countryRoutes } : {}),
        ...webhookColumns(patch.webhook),
        updatedAt: now,
      })
      .where(eq(services.id, id))
      .returning()
      .get();
    return updated ? toServiceEntry(updated) : null;
  });

  return {
    async createService(s, now) {
      db.insert(services)
        .values({
          id: s.id,
          name: s.name,
          policy: s.policy,
          route: s.route,
          countryRoutes: s.countryRoutes,
          ...webhookColumns(s.webhook),
          settings: s.settings ?? {},
          createdAt: now,
          updatedAt: now,
        })
        .run();
    },
    async listServices(filter = {}) {
      return db
        .select()
        .from(services)
        .where(filter.id !== undefined ? eq(services.id, filter.id) : undefined)
        .orderBy(asc(services.createdAt), asc(services.id))
        .all()
        .map(toServiceEntry);
    },
    async updateServicePolicy(id, patch, now) {
      return updateTx(id, patch, now);
    },
    async listApiKeys(filter = {}) {
      const where: SQL[] = [];
      if (filter.serviceId !== undefined) where.push(eq(apiKeys.serviceId, filter.serviceId));
      return db
        .select({
          id: apiKeys.id,
          serviceId: apiKeys.serviceId,
          label: apiKeys.label,
          prefix: apiKeys.prefix,
          createdAt: apiKeys.createdAt,
          revokedAt: apiKeys.revokedAt,
        })
        .from(apiKeys)
        .where(and(...where))
        .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
        .all() satisfies ApiKeyEntry[];
    },
    async revokeApiKey(id, now) {
      if (
        db
          .update(apiKeys)
          .set({ revokedAt: now })
          .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
          .run().changes
      )
        return true;
      return db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id)).get() !== undefined;
    },
  };
}
