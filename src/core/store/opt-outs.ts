import type { Channel, OptOut } from "../model.js";

export interface OptOutFilter {
  phone?: string;
  channel?: Channel;
  /** @default 100 */
  limit?: number;
}

/** The opt-out operations of the Store; each is one statement, so atomic. */
export interface OptOutStore {
  /** Records an opt-out; false when the number had already opted out on that channel (the first record is kept). */
  addOptOut(optOut: OptOut): Promise<boolean>;
  /** Lifts an opt-out; false when there was none. */
  removeOptOut(phone: string, channel: Channel): Promise<boolean>;
  /** One primary-key lookup: the outbox asks it before every send. */
  isOptedOut(phone: string, channel: Channel): Promise<boolean>;
  /** Newest first. */
  listOptOuts(filter: OptOutFilter): Promise<OptOut[]>;
}
