import smppModule from "smpp";
import { DATA_CODING_UCS2, decodeUcs2 } from "./smpp-encoding.js";
import { ESME_RX_T_APPN, type SmppFailure as Failure, statusError, statusKind } from "./smpp-status.js";

/**
 * One bind_transceiver session to an SMSC, opened on first use and kept up: enquire_link keep-alive,
 * reconnection with capped, jittered backoff, and answers to what the SMSC sends (enquire_link, deliver_sm,
 * unbind). Built on the `smpp` package (farhadi/node-smpp), which has no type declarations: the facade
 * below names the few members used, and no untyped value leaves this module.
 */

interface RawPdu {
  readonly command: string;
  readonly command_status: number;
  readonly [field: string]: unknown;
  response(options?: Record<string, unknown>): RawPdu;
}

interface RawSession {
  on(event: "connect" | "secureConnect" | "close", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "pdu", listener: (pdu: RawPdu) => void): void;
  /**
   * False when the socket is no longer writable. The callback gets the response to a request, or is
   * called once a response PDU has been written.
   */
  send(pdu: RawPdu, callback?: (response: RawPdu) => void): boolean;
  destroy(): void;
}

interface SmppModule {
  connect(options: { host: string; port: number; tls: boolean; noDelay: boolean }): RawSession;
  PDU: new (command: string, options?: Record<string, unknown>) => RawPdu;
}

// A static import (not createRequire) so the single-executable bundle includes the package.
const smpp = smppModule as SmppModule;

function retry(code: string, message: string): Failure {
  return { kind: "retry", error: { code, message } };
}

export interface SubmitSm {
  sourceAddr: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  destinationAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  registeredDelivery: number;
  validityPeriod: string;
  dataCoding: number;
  shortMessage: Buffer;
}

export type SubmitOutcome = { kind: "response"; status: number; messageId: string } | Failure;

/** A deliver_sm as the adapter reads it: a delivery receipt or a mobile-originated message. */
export interface DeliverSm {
  esmClass: number;
  sourceAddr: string;
  sourceAddrTon: number;
  destinationAddr: string;
  dataCoding: number;
  /** short_message, or the message_payload TLV when short_message is empty, decoded by data_coding. */
  text: string;
  receiptedMessageId?: string;
  messageState?: number;
  networkErrorCode?: Buffer;
}

export interface SmppSessionOptions {
  host: string;
  port: number;
  tls: boolean;
  systemId: string;
  password: string;
  systemType: string;
  enquireLinkMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Bounds connect + bind, each enquire_link, and each submit (waiting for the session included). */
  timeoutMs: number;
  /** For the wait after refused credentials (sockets and keep-alive run on real timers). */
  now(): number;
  /** Returns the deliver_sm_resp command_status; a throw answers ESME_RX_T_APPN so the SMSC delivers it again. */
  onDeliverSm(pdu: DeliverSm): Promise<number>;
}

interface Link {
  raw: RawSession;
  bound: boolean;
  /** Fails the requests awaiting a response on this connection. */
  pending: Set<(failure: Failure) => void>;
  /** Why the connection ended, when we know better than "it closed". */
  failure?: Failure;
  closed: Promise<void>;
  isClosed: boolean;
  keepAlive?: NodeJS.Timeout;
  enquireDeadline?: NodeJS.Timeout;
}

type State = "idle" | "connecting" | "bound" | "backoff" | "rejected" | "closed";

export class SmppSession {
  private state: State = "idle";
  private link: Link | null = null;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** After the SMSC refused our credentials: answered to every send until `until`, then binding is tried again. */
  private rejection: { failure: Failure; until: number } | null = null;
  private readonly waiters = new Set<(outcome: Link | Failure) => void>();

  constructor(private readonly options: SmppSessionOptions) {}

  async submit(sm: SubmitSm, signal: AbortSignal): Promise<SubmitOutcome> {
    if (signal.aborted) return retry("aborted", "the send was aborted before it started");
    const limit = AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]);
    const link = await this.ready(limit, signal);
    if ("kind" in link) return link;
    const pdu = new smpp.PDU("submit_sm", {
      service_type: "",
      source_addr_ton: sm.sourceAddrTon,
      source_addr_npi: sm.sourceAddrNpi,
      source_addr: sm.sourceAddr,
      dest_addr_ton: sm.destAddrTon,
      dest_addr_npi: sm.destAddrNpi,
      destination_addr: sm.destinationAddr,
      esm_class: 0,
      registered_delivery: sm.registeredDelivery,
      validity_period: sm.validityPeriod,
      data_coding: sm.dataCoding,
      // A Buffer is sent as is; a string would be re-encoded by the package.
      short_message: sm.shortMessage,
    });
    const outcome = await this.request(link, pdu, limit, signal);
    if (!("response" in outcome)) return outcome;
    const { response } = outcome;
    const messageId = typeof response.message_id === "string" ? response.message_id : "";
    return { kind: "response", status: response.command_status, messageId };
  }

  /** Unbinds politely (bounded by timeoutMs), then closes; later sends answer `retry` with code "closed". */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const link = this.link;
    this.state = "closed";
    this.link = null;
    clearTimeout(this.reconnectTimer);
    this.settle(retry("closed", "the SMPP session was closed"));
    if (!link) return;
    if (link.bound && !link.isClosed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.timeoutMs);
        if (!link.raw.send(new smpp.PDU("unbind"), () => resolve())) resolve();
        void link.closed.then(resolve);
        timer.unref();
      });
    }
    link.raw.destroy();
    await link.closed;
  }

  /** The bound connection, or why there is none; waits for a bind in progress or a reconnect. */
  private ready(limit: AbortSignal, signal: AbortSignal): Promise<Link | Failure> {
    if (this.state === "closed") return Promise.resolve(retry("closed", "the SMPP session was closed"));
    if (this.state === "bound" && this.link) return Promise.resolve(this.link);
    if (this.state === "rejected" && this.rejection) {
      if (this.options.now() < this.rejection.until) return Promise.resolve(this.rejection.failure);
      this.rejection = null;
      this.state = "idle";
    }
    if (this.state === "idle") this.connect();
    return new Promise((resolve) => {
      const done = (outcome: Link | Failure) => {
        this.waiters.delete(done);
        limit.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      // Nothing was sent: say so, unlike a submit that timed out with its outcome unknown.
      const onAbort = () =>
        done(
          signal.aborted ? retry("aborted", "aborted while waiting for the SMPP bind") : retry("not_bound", "no SMPP session"),
        );
      this.waiters.add(done);
      limit.addEventListener("abort", onAbort, { once: true });
    });
  }

  private settle(outcome: Link | Failure): void {
    for (const waiter of [...this.waiters]) waiter(outcome);
  }

  private request(link: Link, pdu: RawPdu, limit: AbortSignal, signal: AbortSignal): Promise<{ response: RawPdu } | Failure> {
    return new Promise((resolve) => {
      const finish = (outcome: { response: RawPdu } | Failure) => {
        link.pending.delete(finish);
        limit.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      // Sent but unanswered: the SMSC may still deliver it, so the outcome is unknown.
      const onAbort = () =>
        finish(
          signal.aborted ? retry("aborted", "aborted awaiting submit_sm_resp") : retry("timeout", "no submit_sm_resp in time"),
        );
      link.pending.add(finish);
      limit.addEventListener("abort", onAbort, { once: true });
      if (!link.raw.send(pdu, (response) => finish({ response })))
        finish(retry("connection_lost", "the SMPP connection is not writable"));
    });
  }

  private connect(): void {
    this.state = "connecting";
    const { host, port, tls } = this.options;
    // PDUs are small and each awaits an answer: Nagle's algorithm would only add latency.
    const raw = smpp.connect({ host, port, tls, noDelay: true });
    let markClosed = () => {};
    const link: Link = { raw, bound: false, pending: new Set(), isClosed: false, closed: new Promise((r) => (markClosed = r)) };
    this.link = link;
    // A TCP connect into a black hole has no timeout of its own; connect and bind share one.
    const bindDeadline = setTimeout(() => {
      link.failure ??= retry("connection_failed", "no bind_transceiver_resp in time");
      raw.destroy();
    }, this.options.timeoutMs);
    raw.on("error", (error) => {
      link.failure ??= retry(link.bound ? "connection_lost" : "connection_failed", error.message);
      // Socket errors are followed by close; a framing error is not, and leaves the package stuck.
      raw.destroy();
    });
    raw.on("close", () => {
      clearTimeout(bindDeadline);
      link.isClosed = true;
      markClosed();
      this.onClose(link);
    });
    raw.on("pdu", (pdu) => this.onPdu(link, pdu));
    raw.on(tls ? "secureConnect" : "connect", () => {
      const bind = new smpp.PDU("bind_transceiver", {
        system_id: this.options.systemId,
        password: this.options.password,
        system_type: this.options.systemType,
        interface_version: 0x34,
        addr_ton: 0,
        addr_npi: 0,
        address_range: "",
      });
      raw.send(bind, (response) => {
        clearTimeout(bindDeadline);
        if (this.link === link) this.onBindResponse(link, response.command_status);
      });
    });
  }

  private onBindResponse(link: Link, status: number): void {
    if (status === 0) {
      link.bound = true;
      this.state = "bound";
      this.failures = 0;
      this.startKeepAlive(link);
      this.settle(link);
      return;
    }
    const kind = statusKind(status);
    if (kind === "retry") {
      link.failure = { kind, error: statusError(status) };
      link.raw.destroy();
      return;
    }
    // Wrong credentials: no reconnect loop (it could lock the account); sends get the answer until the
    // backoff delay has passed, then the next send binds again.
    const failure: Failure = { kind: "misconfigured", error: statusError(status) };
    this.link = null;
    this.state = "rejected";
    this.rejection = { failure, until: this.options.now() + this.nextDelay() };
    this.settle(failure);
    link.raw.destroy();
  }

  private onClose(link: Link): void {
    clearInterval(link.keepAlive);
    clearTimeout(link.enquireDeadline);
    const lost = retry("connection_lost", link.failure?.error.message ?? "the SMPP connection closed");
    for (const fail of [...link.pending]) fail(lost);
    if (this.link !== link) return;
    this.link = null;
    this.settle(link.failure ?? retry(link.bound ? "connection_lost" : "connection_failed", "the SMPP connection closed"));
    // Reconnect even with nothing to send: delivery receipts only arrive on a bound session.
    this.state = "backoff";
    this.reconnectTimer = setTimeout(() => {
      if (this.state === "backoff") this.connect();
    }, this.nextDelay());
    this.reconnectTimer.unref();
  }

  /** Exponential from reconnectInitialMs, capped at reconnectMaxMs; "equal jitter" keeps at least half of it. */
  private nextDelay(): number {
    const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectInitialMs * 2 ** this.failures);
    this.failures++;
    return base / 2 + (Math.random() * base) / 2;
  }

  private startKeepAlive(link: Link): void {
    link.keepAlive = setInterval(() => {
      if (link.enquireDeadline) return; // the previous one is still unanswered
      link.enquireDeadline = setTimeout(() => {
        link.failure ??= retry("connection_lost", "no enquire_link_resp in time");
        link.raw.destroy();
      }, this.options.timeoutMs);
      link.raw.send(new smpp.PDU("enquire_link"), () => {
        clearTimeout(link.enquireDeadline);
        link.enquireDeadline = undefined;
      });
    }, this.options.enquireLinkMs);
    link.keepAlive.unref();
  }

  private onPdu(link: Link, pdu: RawPdu): void {
    switch (pdu.command) {
      case "enquire_link":
        link.raw.send(pdu.response());
        break;
      case "deliver_sm":
        void this.answerDeliverSm(link, pdu);
        break;
      case "unbind":
        link.raw.send(pdu.response(), () => link.raw.destroy());
        break;
      case "unknown":
        link.raw.send(pdu.response()); // generic_nack
        break;
    }
  }

  private async answerDeliverSm(link: Link, pdu: RawPdu): Promise<void> {
    let status: number;
    try {
      status = await this.options.onDeliverSm(toDeliverSm(pdu));
    } catch {
      status = ESME_RX_T_APPN;
    }
    // Every deliver_sm gets an answer, or the SMSC stalls its window and resends.
    link.raw.send(pdu.response(status === 0 ? {} : { command_status: status }));
  }
}

/** The package decodes short_message into `{ message }` by data_coding; unknown codings stay bytes. */
function messageText(value: unknown, dataCoding: number): string {
  const message = value !== null && typeof value === "object" && "message" in value ? value.message : value;
  if (typeof message === "string") return message;
  if (Buffer.isBuffer(message)) return dataCoding === DATA_CODING_UCS2 ? decodeUcs2(message) : message.toString("latin1");
  return "";
}

function toDeliverSm(pdu: RawPdu): DeliverSm {
  const num = (value: unknown) => (typeof value === "number" ? value : 0);
  const str = (value: unknown) => (typeof value === "string" ? value : "");
  const dataCoding = num(pdu.data_coding);
  const sm: DeliverSm = {
    esmClass: num(pdu.esm_class),
    sourceAddr: str(pdu.source_addr),
    sourceAddrTon: num(pdu.source_addr_ton),
    destinationAddr: str(pdu.destination_addr),
    dataCoding,
    text: messageText(pdu.short_message, dataCoding) || messageText(pdu.message_payload, dataCoding),
  };
  if (typeof pdu.receipted_message_id === "string") sm.receiptedMessageId = pdu.receipted_message_id;
  if (typeof pdu.message_state === "number") sm.messageState = pdu.message_state;
  if (Buffer.isBuffer(pdu.network_error_code)) sm.networkErrorCode = pdu.network_error_code;
  return sm;
}
