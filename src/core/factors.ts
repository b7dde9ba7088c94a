import { fitsShape, normalizeCandidate } from "./code-input.js";
import { VerifydError } from "./errors.js";
import type { Factor, Service, StoredFactor } from "./model.js";
import type { Clock, Ids } from "./ports.js";
import type { Store } from "./store/index.js";
import { checkTotp, newTotpSecret, otpauthUri, type TotpCheck, type TotpSealer } from "./totp.js";

/** `malformed_code`: not the factor's number of digits once spaces and dashes are removed; counted nowhere. */
export type ChallengeReason = "wrong_code" | "replayed" | "locked" | "not_found" | "not_verified" | "malformed_code";

/** Every well-formed challenge ends in one of these: data, not an error. */
export interface ChallengeOutcome {
  valid: boolean;
  reason: ChallengeReason | null;
  /** The factor the outcome is about; null when none was found, or several were tried and none matched. */
  factor: Factor | null;
}

export interface Lockout {
  /** Consecutive wrong codes that lock a factor. @default 5 */
  maxFailures: number;
  /** How long a lock lasts. @default 900_000 (15 minutes) */
  lockMs: number;
}

export const DEFAULT_LOCKOUT: Lockout = { maxFailures: 5, lockMs: 15 * 60_000 };

export interface NewFactorInput {
  entityId: string;
  /** Shown in the authenticator app as the account name. @default entityId */
  label?: string | null;
  /** @default 6 */
  digits?: Factor["digits"];
  /** @default 30 */
  period?: Factor["period"];
}

export type ChallengeTarget = { factorId: string } | { entityId: string };

export interface FactorDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  sealer: TotpSealer;
  /** @default DEFAULT_LOCKOUT */
  lockout?: Lockout;
  /**
   * Where new secrets come from. @default newTotpSecret (20 bytes from the CSPRNG)
   * @example () => Buffer.from("12345678901234567890") // RFC 6238 appendix B, for tests
   */
  newSecret?: () => Buffer;
}

const refused = (reason: ChallengeReason, factor: Factor | null): ChallengeOutcome => ({ valid: false, reason, factor });

/** Strips the sealed secret: nothing outside this module and the store ever holds it. */
function publicFactor(f: StoredFactor): Factor {
  const { sealedSecret: _sealed, ...factor } = f;
  return factor;
}

/** Authenticator-app factors: enrolment, activation and challenges with replay protection and lockout. */
export function createFactorService(deps: FactorDeps) {
  const { store, clock, ids, sealer } = deps;
  const lockout = deps.lockout ?? DEFAULT_LOCKOUT;
  const newSecret = deps.newSecret ?? newTotpSecret;

  const mustFind = async (service: Service, id: string): Promise<StoredFactor> => {
    const f = await store.getFactor(service.id, id);
    if (!f) throw new VerifydError("factor_not_found", `no factor ${id} in this service`);
    return f;
  };

  async function check(f: StoredFactor, code: string, now: number): Promise<TotpCheck> {
    const secret = sealer.open(f.id, f.sealedSecret);
    try {
      return await checkTotp({ secret, code, digits: f.digits, period: f.period, now, lastStep: f.lastStep });
    } finally {
      secret.fill(0); // do not leave the secret in memory longer than the check
    }
  }

  /**
   * Tries a code on candidate factors. Each attempt is counted as a failure before the code is
   * compared (as verification checks are), so a burst of concurrent guesses cannot outrun the
   * lockout, and a locked factor answers `locked` whatever the code. A success clears the count
   * of every factor the challenge tried: a user with two apps is not charged for the other one.
   */
  async function attempt(all: StoredFactor[], typed: string, activate: boolean): Promise<ChallengeOutcome> {
    // A code as pasted (`123 456`, fullwidth digits) is the code; one of the wrong length cannot be
    // any factor's, and is refused before anything is counted.
    const code = normalizeCandidate(typed, "digits");
    const candidates = all.filter((f) => fitsShape(code, { length: f.digits, alphabet: "digits" }));
    if (candidates.length === 0) return refused("malformed_code", all.length === 1 ? publicFactor(all[0] as StoredFactor) : null);
    const now = clock.now();
    const counted: StoredFactor[] = [];
    let locked: Factor | null = null;
    for (const f of candidates) {
      const begun = await store.beginFactorAttempt({ id: f.id, now, ...lockout });
      if (begun.kind === "counted") counted.push(begun.factor);
      if (begun.kind === "locked") locked ??= begun.factor;
    }
    const single = all.length === 1;
    if (counted.length === 0) return locked ? refused("locked", single ? locked : null) : refused("not_found", null);

    let replayed: StoredFactor | null = null;
    for (const f of counted) {
      const result = await check(f, code, now);
      if (result.kind === "replayed") replayed ??= f;
      if (result.kind !== "valid") continue;
      // The conditional update decides between concurrent challenges carrying the same code.
      const alsoReset = counted.filter((other) => other.id !== f.id).map((other) => other.id);
      const accepted = await store.acceptFactorStep({ id: f.id, step: result.step, now, activate, alsoReset });
      if (accepted.kind === "accepted") return { valid: true, reason: null, factor: accepted.factor };
      return refused(accepted.reason, accepted.reason === "not_found" ? null : publicFactor(f));
    }
    if (replayed) return refused("replayed", publicFactor(replayed));
    return refused("wrong_code", single ? publicFactor(counted[0] as StoredFactor) : null);
  }

  return {
    /** Creates an unverified factor; the otpauth URI (which holds the secret) is returned this once only. */
    async create(service: Service, input: NewFactorInput): Promise<{ factor: Factor; otpauthUri: string }> {
      const now = clock.now();
      const secret = newSecret();
      const factor: Factor = {
        id: ids.factor(),
        serviceId: service.id,
        entityId: input.entityId,
        label: input.label ?? null,
        digits: input.digits ?? 6,
        period: input.period ?? 30,
        status: "unverified",
        lastStep: null,
        failedAttempts: 0,
        lockedUntil: null,
        createdAt: now,
        updatedAt: now,
      };
      await store.createFactor({ ...factor, sealedSecret: sealer.seal(factor.id, secret) });
      const uri = otpauthUri({
        issuer: service.name,
        account: input.label ?? input.entityId,
        secret,
        digits: factor.digits,
        period: factor.period,
      });
      return { factor, otpauthUri: uri };
    },

    async get(service: Service, id: string): Promise<Factor> {
      return publicFactor(await mustFind(service, id));
    },

    async list(service: Service, entityId: string): Promise<Factor[]> {
      return (await store.listFactors(service.id, entityId)).map(publicFactor);
    },

    async remove(service: Service, id: string): Promise<void> {
      if (!(await store.deleteFactor(service.id, id)))
        throw new VerifydError("factor_not_found", `no factor ${id} in this service`);
    },

    /** Activates a factor with a first code from the app (on a verified factor, an ordinary challenge). */
    async verify(service: Service, id: string, code: string): Promise<ChallengeOutcome> {
      const f = await store.getFactor(service.id, id);
      if (!f) return refused("not_found", null);
      return attempt([f], code, true);
    },

    /** Checks a code against one factor, or against every verified factor of an entity. */
    async challenge(service: Service, target: ChallengeTarget, code: string): Promise<ChallengeOutcome> {
      if ("factorId" in target) {
        const f = await store.getFactor(service.id, target.factorId);
        if (!f) return refused("not_found", null);
        if (f.status !== "verified") return refused("not_verified", publicFactor(f));
        return attempt([f], code, false);
      }
      const all = await store.listFactors(service.id, target.entityId);
      if (all.length === 0) return refused("not_found", null);
      const verified = all.filter((f) => f.status === "verified");
      if (verified.length === 0) return refused("not_verified", all.length === 1 ? publicFactor(all[0] as StoredFactor) : null);
      return attempt(verified, code, false);
    },
  };
}

export type FactorService = ReturnType<typeof createFactorService>;
