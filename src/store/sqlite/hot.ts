import type Database from "better-sqlite3";

/**
 * Statements of the hot write paths (start, dispatch, check), compiled once when the store opens.
 * Building them with the query builder on every call cost more than the writes themselves; the
 * schema and migrations stay drizzle's, these only name its columns.
 */
/** Named, so the emitted declarations can refer to it. */
export interface HotStatement extends Database.Statement {}

export function prepareHotStatements(raw: Database.Database) {
  const s = (sql: string): HotStatement => raw.prepare(sql);
  return {
    // Queued, or (with a lease) already claimed for the inline first send: see NewDelivery.leaseUntil.
    insertDelivery: s(`insert into deliveries (id, verification_id, step, channel, provider, status, tries, next_try_at,
        lease_until, created_at, updated_at)
      values (@id, @verificationId, @step, @channel, @provider,
        case when @leaseUntil is null then 'queued' else 'sending' end, case when @leaseUntil is null then 0 else 1 end,
        @nextTryAt, @leaseUntil, @now, @now)`),
    cancelQueued: s(`update deliveries set status = 'canceled', next_try_at = null, updated_at = ?
      where verification_id = ? and status = 'queued'`),
    // Frees the one-pending slot (verifications_one_pending) of a lapsed code. Its conditions are that
    // index's, so SQLite reads the small partial index rather than the destination index, whose
    // entries for a number lie anywhere in a table of millions of rows. Stale inbound rows are the
    // expiry sweep's.
    expireStale: s(`update verifications set status = 'expired', code_hash = null, sealed_code = null, updated_at = @now
      where service_id = @serviceId and to_number = @to and status = 'pending' and inbound_channels is null
        and expires_at <= @now`),
    insertVerification:
      s(`insert into verifications (id, service_id, to_number, to_sealed, country, status, code_hash, sealed_code, route,
        current_step, sends, checks, max_checks, max_sends, client_ip, locale, created_at, updated_at, expires_at, last_sent_at, approved_at,
        amount, payee, test)
      values (@id, @serviceId, @to, @toSealed, @country, @status, @codeHash, @sealedCode, @route, @currentStep, @sends, @checks, @maxChecks,
        @maxSends, @clientIp, @locale, @createdAt, @updatedAt, @expiresAt, @lastSentAt, @approvedAt, @amount, @payee, @test)
      on conflict do nothing`),
    closeVerification: s(`update verifications set status = @status, updated_at = @now, code_hash = null, sealed_code = null,
        approved_at = case when @status = 'approved' then @now else approved_at end
      where id = @id and status = 'pending'`),
    claimDelivery: s(`update deliveries set status = 'sending', lease_until = @leaseUntil, tries = tries + 1, updated_at = @now
      where id = @id and ((status = 'queued' and next_try_at <= @now) or (status = 'sending' and lease_until <= @now))
      returning id, verification_id as verificationId, step, channel, provider, tries`),
    jobContext:
      s(`select v.id, v.service_id as serviceId, v.to_sealed as toSealed, v.status, v.route, v.sealed_code as sealedCode,
        v.expires_at as expiresAt, v.locale, s.name as serviceName,
        v.amount, v.payee, s.settings
      from verifications v join services s on s.id = v.service_id where v.id = ?`),
    cancelDelivery: s(`update deliveries set status = 'canceled', lease_until = null, updated_at = ? where id = ?`),
    recordResult: s(`update deliveries set status = @status, provider_message_id = @providerMessageId, error_code = @errorCode,
        error_message = @errorMessage, next_try_at = @nextTryAt, lease_until = null, fallback_at = @fallbackAt, updated_at = @now
      where id = @id and status = 'sending'
      returning verification_id as verificationId, step`),
  };
}

export type HotStatements = ReturnType<typeof prepareHotStatements>;

/** Row shapes of the statements above. */
export interface ClaimedRow {
  id: string;
  verificationId: string;
  step: number;
  channel: string;
  provider: string;
  tries: number;
}

export interface JobContextRow {
  id: string;
  serviceId: string;
  toSealed: Buffer | null;
  status: string;
  route: string;
  sealedCode: Buffer | null;
  expiresAt: number;
  locale: string | null;
  serviceName: string;
  amount: string | null;
  payee: string | null;
  /** JSON: the service's partial settings. */
  settings: string;
}
