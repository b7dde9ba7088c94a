import { sql } from "drizzle-orm";
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Channel, RouteStep } from "../../core/model.js";

/**
 * The SQLite schema. Times are epoch milliseconds; JSON columns hold small documents
 * (routes, policy overrides). Every lookup of a hot request is an index hit.
 */

export const services = sqliteTable("services", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** JSON: partial VerificationPolicy; unset fields take the configured defaults. */
  policy: text("policy", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  route: text("route", { mode: "json" }).$type<RouteStep[]>().notNull(),
  countryRoutes: text("country_routes", { mode: "json" }).$type<Record<string, RouteStep[]>>().notNull().default(sql`'{}'`),
  /** JSON: partial ServiceSettings (templates, locale, autofill, test numbers…); unset fields take defaults. */
  settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  // Event webhook receiver of this service (null: the global VERIFYD_EVENTS_URL). The secret is only
  // ever stored sealed (AES-256-GCM under a key derived from VERIFYD_SECRET, the service id as AAD).
  webhookUrl: text("webhook_url"),
  webhookSecretSealed: blob("webhook_secret_sealed", { mode: "buffer" }),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id").references(() => services.id),
    label: text("label").notNull(),
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key; keys are random, so a plain digest is enough. */
    secretHash: blob("secret_hash", { mode: "buffer" }).notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [uniqueIndex("api_keys_secret_hash").on(t.secretHash)],
);

export const verifications = sqliteTable(
  "verifications",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id")
      .notNull()
      .references(() => services.id),
    /** The destination's blind index (see store/at-rest.ts); '' for an inbound verification any sender may answer. */
    to: text("to_number").notNull(),
    /** The destination, sealed (AES-256-GCM); null with an empty `to_number`. */
    toSealed: blob("to_sealed", { mode: "buffer" }),
    country: text("country"),
    status: text("status").notNull(),
    codeHash: blob("code_hash", { mode: "buffer" }),
    sealedCode: blob("sealed_code", { mode: "buffer" }),
    /** The route chosen at start (service, country and request preferences applied). */
    route: text("route", { mode: "json" }).$type<RouteStep[]>().notNull(),
    currentStep: integer("current_step").notNull().default(0),
    sends: integer("sends").notNull(),
    checks: integer("checks").notNull().default(0),
    maxChecks: integer("max_checks").notNull(),
    maxSends: integer("max_sends").notNull(),
    clientIp: text("client_ip"),
    locale: text("locale"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    lastSentAt: integer("last_sent_at").notNull(),
    approvedAt: integer("approved_at"),
    /** Person-to-application verifications only (JSON channels); `to_number` is then the expected sender, or ''. */
    inboundChannels: text("inbound_channels", { mode: "json" }).$type<Channel[]>(),
    /** HMAC-SHA256 of the inbound code alone (its own HKDF key), so a user's message finds its row; wiped on approval. */
    inboundCodeHash: blob("inbound_code_hash", { mode: "buffer" }),
    /** The blind index of the number an inbound verification was approved from. */
    verifiedNumber: text("verified_number"),
    /** PSD2 transaction binding: shown in the message and covered by the code hash. */
    amount: text("amount"),
    payee: text("payee"),
    /** A service test number (fixed code, never sent): analytics leave these rows out. */
    test: integer("test", { mode: "boolean" }).notNull().default(false),
    verifiedNumberSealed: blob("verified_number_sealed", { mode: "buffer" }),
  },
  (t) => [
    // At most one live sending verification per destination and service; a second start is a resend.
    uniqueIndex("verifications_one_pending").on(t.serviceId, t.to).where(sql`status = 'pending' and inbound_channels is null`),
    // A live inbound code names exactly one verification; the plain index serves every lookup by hash.
    // Both leave out the rows without an inbound code (nearly all of them), which every start would
    // otherwise add to them; a lookup by hash (`= ?`) implies `is not null`, so SQLite still uses them.
    uniqueIndex("verifications_inbound_pending")
      .on(t.inboundCodeHash)
      .where(sql`status = 'pending' and inbound_code_hash is not null`),
    index("verifications_inbound_code").on(t.inboundCodeHash).where(sql`inbound_code_hash is not null`),
    index("verifications_destination").on(t.serviceId, t.to, t.createdAt),
    index("verifications_pending_expiry").on(t.expiresAt).where(sql`status = 'pending'`),
    // Time-range scans of analytics and the recent list: across services, and within one.
    index("verifications_created").on(t.createdAt),
    index("verifications_service_created").on(t.serviceId, t.createdAt),
  ],
);

export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    verificationId: text("verification_id")
      .notNull()
      .references(() => verifications.id, { onDelete: "cascade" }),
    step: integer("step").notNull(),
    channel: text("channel").notNull(),
    provider: text("provider").notNull(),
    status: text("status").notNull(),
    providerMessageId: text("provider_message_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    tries: integer("tries").notNull().default(0),
    nextTryAt: integer("next_try_at"),
    leaseUntil: integer("lease_until"),
    /** Accepted but not yet delivered: when to fall over to the next step. */
    fallbackAt: integer("fallback_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("deliveries_verification").on(t.verificationId),
    index("deliveries_due").on(t.nextTryAt).where(sql`status = 'queued'`),
    index("deliveries_leased").on(t.leaseUntil).where(sql`status = 'sending'`),
    // A receipt's lookup (provider, its message id). A delivery has no message id until its provider
    // accepts it, so its row joins the index then, not also when it is written.
    index("deliveries_provider_message").on(t.provider, t.providerMessageId).where(sql`provider_message_id is not null`),
    index("deliveries_fallback_due").on(t.fallbackAt).where(sql`fallback_at is not null`),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    serviceId: text("service_id").notNull(),
    key: text("key").notNull(),
    /** Sealed: a plain digest of a request body that names a number could be brute-forced back to it. */
    fingerprint: text("fingerprint").notNull(),
    responseStatus: integer("response_status"),
    /** The first answer, sealed (it holds the number). */
    responseBody: text("response_body"),
    /** The verification the answer names, so erasure finds the row without opening every body. */
    verificationId: text("verification_id"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.key] }), index("idempotency_created").on(t.createdAt)],
);

/** Authenticator-app (TOTP) factors. The secret is only ever stored sealed (AES-256-GCM, factor id as AAD). */
export const factors = sqliteTable(
  "factors",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id")
      .notNull()
      .references(() => services.id),
    entityId: text("entity_id").notNull(),
    label: text("label"),
    sealedSecret: blob("sealed_secret", { mode: "buffer" }).notNull(),
    digits: integer("digits").notNull(),
    period: integer("period").notNull(),
    status: text("status").notNull(),
    /** The last accepted time step (RFC 6238 §5.2 replay protection); null until the first code. */
    lastStep: integer("last_step"),
    failedAttempts: integer("failed_attempts").notNull().default(0),
    lockedUntil: integer("locked_until"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("factors_entity").on(t.serviceId, t.entityId)],
);

/** Numbers that opted out of a channel (STOP keywords, the API, provider reports); one row per number and channel. */
export const optOuts = sqliteTable(
  "opt_outs",
  {
    /** The number's blind index. */
    phone: text("phone").notNull(),
    /** The number, sealed (AES-256-GCM) and bound to its index. */
    phoneSealed: blob("phone_sealed", { mode: "buffer" }),
    channel: text("channel").notNull(),
    /** keyword | api | provider */
    source: text("source").notNull(),
    keyword: text("keyword"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.phone, t.channel] }), index("opt_outs_created").on(t.createdAt)],
);

/** Counters of rate-limiter-flexible's SQLite store, created here so migrations own every table. */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  points: integer("points").notNull().default(0),
  expire: integer("expire"),
});

/** Event webhooks waiting for (or done with) delivery to the integrator. */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    /** Whose receiver gets it; null for events queued before receivers were per service. */
    serviceId: text("service_id"),
    /** The exact JSON text that is signed and sent, sealed (it names the number, masked). */
    payload: text("payload").notNull(),
    /** pending | delivered | dead */
    status: text("status").notNull(),
    tries: integer("tries").notNull().default(0),
    nextTryAt: integer("next_try_at"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("events_due").on(t.nextTryAt).where(sql`status = 'pending'`), index("events_listing").on(t.status, t.createdAt)],
);

/**
 * Conversion guard counters: sends and approvals of the verifications started in one time bucket,
 * per number prefix or country. Keys are prefixes (the last digits dropped) or ISO codes, never full numbers.
 */
export const conversionCounts = sqliteTable(
  "conversion_counts",
  {
    /** prefix | range | country */
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    bucketStart: integer("bucket_start").notNull(),
    sends: integer("sends").notNull().default(0),
    approvals: integer("approvals").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key, t.bucketStart] }), index("conversion_counts_bucket").on(t.bucketStart)],
);

/** Automatic blocks opened by the conversion guard; active while not lifted and not expired. */
export const abuseBlocks = sqliteTable(
  "abuse_blocks",
  {
    id: text("id").primaryKey(),
    scope: text("scope").notNull(),
    /** A country code, or a prefix's or range's blind index (parts of numbers: never stored in clear). */
    key: text("key").notNull(),
    /** The prefix or range itself, sealed, for the admin listing; null for a country. */
    keySealed: text("key_sealed"),
    reason: text("reason").notNull(),
    sends: integer("sends").notNull(),
    approvals: integer("approvals").notNull(),
    /** The abuse mode when the block opened: enforce | monitor. */
    mode: text("mode").notNull(),
    /** 1 for the key's first block within the guard's memory, 2 for the next, and so on. */
    repeat: integer("repeat").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    liftedAt: integer("lifted_at"),
  },
  (t) => [
    index("abuse_blocks_active").on(t.expiresAt).where(sql`lifted_at is null`),
    index("abuse_blocks_key").on(t.scope, t.key),
  ],
);

/** What the conversion guard remembers of a prefix, range or country beyond its counters' window. */
export const conversionHistory = sqliteTable(
  "conversion_history",
  {
    scope: text("scope").notNull(),
    /** A country code, or a prefix's or range's blind index. */
    key: text("key").notNull(),
    /** The latest approval of a code sent to the key, or an admin's lift of its block. */
    lastApprovedAt: integer("last_approved_at"),
    /** When the key's latest block ended or ends. */
    blockedUntil: integer("blocked_until"),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

/**
 * One row: a box sealed with the current number key, so a start with another VERIFYD_SECRET is
 * refused instead of mixing keys; its absence means plaintext numbers from before sealing may remain.
 */
export const vaultState = sqliteTable("vault_state", {
  id: integer("id").primaryKey(),
  keyCheck: blob("key_check", { mode: "buffer" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Versions of the configured price table: each applies to attempts created from `valid_from` until
 * the next version's, so old attempts keep the prices they were sent at (nothing is written per send).
 */
export const priceTables = sqliteTable("price_tables", {
  version: integer("version").primaryKey(),
  /** Of the canonical JSON document: an unchanged table is not registered again. */
  fingerprint: text("fingerprint").notNull(),
  validFrom: integer("valid_from").notNull(),
  /** The PriceTable as JSON (micro-units). */
  document: text("document").notNull(),
});

/**
 * Channel memory: per destination (its blind index) and channel, the last delivered or failed
 * outcome, deleted once `expires_at` passed.
 */
export const channelMemory = sqliteTable(
  "channel_memory",
  {
    destination: text("destination").notNull(),
    channel: text("channel").notNull(),
    outcome: text("outcome").notNull(),
    at: integer("at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.destination, t.channel] }), index("channel_memory_expires").on(t.expiresAt)],
);
