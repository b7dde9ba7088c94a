/**
 * Message bodies. One GSM-7 segment (160 characters) keeps an OTP cheap and unsplit; the
 * default template stays far below that even with a 40-character service name and 10-digit code.
 */

export interface MessageInput {
  serviceName: string;
  code: string;
  /** Whole minutes left before the code expires, at least 1. */
  minutesLeft: number;
}

export function renderCodeMessage({ serviceName, code, minutesLeft }: MessageInput): string {
  const minutes = minutesLeft === 1 ? "1 minute" : `${minutesLeft} minutes`;
  return `Your ${serviceName} code is ${code}. It expires in ${minutes}. Do not share it.`;
}

export function minutesLeft(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 60_000));
}
