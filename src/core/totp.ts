import { randomBytes } from "node:crypto";
import { ScureBase32Plugin, verify } from "otplib";
import { deriveKey, openBytes, sealBytes } from "./codes.js";

/**
 * RFC 6238 time-based codes for authenticator apps: secrets, their sealing at rest, the otpauth
 * URI the app scans, and the code check with a ±1 step window and replay detection.
 */

/** 160 bits: RFC 4226 R6 recommends it, and it is SHA-1's output length (RFC 6238 §5.1). */
export const TOTP_SECRET_BYTES = 20;

/** RFC 6238 §5.2 recommends at most one step of network delay: the window is the previous, current and next step. */
const TOLERANCE_STEPS = 1;

const base32 = new ScureBase32Plugin();

export function newTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** Base32 without padding, as the Key-Uri-Format and authenticator apps expect. */
export function toBase32(secret: Uint8Array): string {
  return base32.encode(secret, { padding: false });
}

export interface TotpSealer {
  /** AES-256-GCM with the factor id as associated data: a sealed secret opens only on its own row. */
  seal(factorId: string, secret: Buffer): Buffer;
  open(factorId: string, sealed: Buffer): Buffer;
}

/** Its key is derived from `VERIFYD_SECRET` for this purpose only, apart from the code keys. */
export function createTotpSealer(secret: string): TotpSealer {
  const key = deriveKey(secret, "verifyd/totp-seal/v1");
  return {
    seal: (factorId, plaintext) => sealBytes(key, factorId, plaintext),
    open: (factorId, sealed) => openBytes(key, factorId, sealed),
  };
}

const encodeText = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, "\ufffd"));

export interface OtpauthInput {
  issuer: string;
  account: string;
  secret: Uint8Array;
  digits: number;
  period: number;
}

/**
 * `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=…&period=…` (Google's
 * Key-Uri-Format). Every parameter is written out, defaults included: some apps misread a missing
 * one. Issuer and account are percent-encoded, so a colon inside either cannot split the label; a
 * lone surrogate (which `encodeURIComponent` throws on) becomes U+FFFD.
 */
export function otpauthUri(input: OtpauthInput): string {
  const issuer = encodeText(input.issuer);
  const label = `${issuer}:${encodeText(input.account)}`;
  const query = `secret=${toBase32(input.secret)}&issuer=${issuer}&algorithm=SHA1&digits=${input.digits}&period=${input.period}`;
  return `otpauth://totp/${label}?${query}`;
}

export interface TotpCheckInput {
  secret: Uint8Array;
  code: string;
  digits: number;
  period: number;
  /** Epoch milliseconds, from the Clock port. */
  now: number;
  /** The last accepted step: it and every earlier step are refused. */
  lastStep: number | null;
}

export type TotpCheck =
  | { kind: "valid"; step: number }
  /** The code is right but its step was already used. */
  | { kind: "replayed" }
  | { kind: "wrong_code" };

/** The RFC 6238 step (T0 = 0) of a moment. */
export function stepAt(now: number, period: number): number {
  return Math.floor(Math.floor(now / 1000) / period);
}

/** The matched step of a TOTP result (otplib's union also covers HOTP results, which have none). */
const matchedStep = (result: Awaited<ReturnType<typeof verify>>): number | null =>
  result.valid && "timeStep" in result ? result.timeStep : null;

/** Checks a code against the steps around `now`, skipping steps at or below `lastStep` (RFC 6238 §5.2). */
export async function checkTotp(input: TotpCheckInput): Promise<TotpCheck> {
  // otplib throws on a malformed token; for us it is simply a wrong code.
  if (input.code.length !== input.digits || !/^\d+$/.test(input.code)) return { kind: "wrong_code" };
  const base = {
    secret: input.secret,
    token: input.code,
    digits: input.digits,
    period: input.period,
    algorithm: "sha1" as const,
    epoch: Math.floor(input.now / 1000),
    epochTolerance: TOLERANCE_STEPS * input.period,
  };
  if (input.lastStep === null) {
    const step = matchedStep(await verify(base));
    return step === null ? { kind: "wrong_code" } : { kind: "valid", step };
  }
  // otplib refuses an afterTimeStep beyond the window; every step of the window is spent then anyway.
  const lastInWindow = stepAt(input.now, input.period) + TOLERANCE_STEPS;
  const step = matchedStep(await verify({ ...base, afterTimeStep: Math.min(input.lastStep, lastInWindow) }));
  if (step !== null) return { kind: "valid", step };
  // Tell a replay from a guess: the same code over the whole window, used steps included.
  return (await verify(base)).valid ? { kind: "replayed" } : { kind: "wrong_code" };
}
