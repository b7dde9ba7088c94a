import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { AddressInfo, Server, Socket } from "node:net";

/**
 * A fake SMSC on 127.0.0.1: a real SMPP server from the `smpp` package (the same library, server side).
 * It checks the bind credentials, refuses submit_sm on an unbound session, answers enquire_link, and
 * records every submit_sm as parsed from its raw bytes, so tests see exactly what went over the wire
 * (the package's own decoder would turn GSM-7 bytes into text and relative times into dates).
 */

interface FakePdu {
  readonly command: string;
  readonly command_status: number;
  readonly [field: string]: unknown;
  response(options?: Record<string, unknown>): FakePdu;
}

interface ServerSession {
  readonly socket: Socket;
  on(event: "pdu", listener: (pdu: FakePdu) => void): void;
  on(event: "error" | "close", listener: () => void): void;
  send(pdu: FakePdu, callback?: (pdu: FakePdu) => void): boolean;
  deliver_sm(options: Record<string, unknown>, onResponse: (pdu: FakePdu) => void): boolean;
  enquire_link(onResponse: (pdu: FakePdu) => void): boolean;
  destroy(): void;
}

/** The command_status names the tests use (the package exports them all). */
type ErrorName =
  | "ESME_RINVBNDSTS"
  | "ESME_RALYBND"
  | "ESME_RSYSERR"
  | "ESME_RINVSRCADR"
  | "ESME_RINVDSTADR"
  | "ESME_RINVPASWD"
  | "ESME_RINVSYSID"
  | "ESME_RMSGQFUL"
  | "ESME_RSUBMITFAIL"
  | "ESME_RINVSRCTON"
  | "ESME_RTHROTTLED"
  | "ESME_RINVEXPIRY"
  | "ESME_RX_T_APPN"
  | "ESME_RX_P_APPN"
  | "ESME_RX_R_APPN"
  | "ESME_RUNKNOWNERR";

interface SmppServerModule {
  createServer(options: { noDelay: boolean }, listener: (session: ServerSession) => void): Server;
  errors: Readonly<Record<ErrorName, number>>;
}

export const smpp = createRequire(import.meta.url)("smpp") as SmppServerModule;

export const SUBMIT_SM = 0x00000004;

export interface BindRecord {
  command: string;
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  accepted: boolean;
}

/** A submit_sm's mandatory fields as sent, plus its TLVs by tag. */
export interface SubmitSmRecord {
  commandId: number;
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
  tlvs: Map<number, Buffer>;
}

export type SubmitReply =
  | { messageId: string }
  | { status: number }
  /** Drop the connection instead of answering. */
  | { drop: true }
  /** Never answer. */
  | { silent: true };

export interface DeliverSmFields {
  esmClass: number;
  sourceAddr?: string;
  sourceAddrTon?: number;
  destinationAddr?: string;
  dataCoding?: number;
  shortMessage: Buffer;
  receiptedMessageId?: string;
  messageState?: number;
  networkErrorCode?: Buffer;
}

type FakeEvent = "bind" | "submit_sm" | "enquire_link" | "unbind" | "session_closed";

export interface FakeSmsc {
  readonly port: number;
  readonly binds: BindRecord[];
  readonly submits: SubmitSmRecord[];
  /** enquire_link PDUs received from the client. */
  readonly enquireLinks: number;
  readonly unbinds: number;
  /** Queues the answer to one submit_sm; with none queued, each is accepted with a fresh hex message id. */
  queueSubmitReply(reply: SubmitReply): void;
  /** Stop answering the client's enquire_link (a hung SMSC). */
  ignoreEnquireLink(): void;
  /** Sends a deliver_sm on the bound session; resolves with the client's deliver_sm_resp command_status. */
  deliverSm(fields: DeliverSmFields): Promise<number>;
  /** Sends enquire_link; resolves with the response's command name and status. */
  enquireLink(): Promise<{ command: string; status: number }>;
  /** Destroys every open connection, as an SMSC restart would. */
  dropConnections(): void;
  /** Resolves on the next such event, or rejects after timeoutMs. */
  next(event: FakeEvent, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The Appendix B receipt text. */
export function receiptText(r: { id: string; stat: string; err?: string; text?: string }): string {
  const sub = "001";
  const dlvrd = r.stat === "DELIVRD" ? "001" : "000";
  return `id:${r.id} sub:${sub} dlvrd:${dlvrd} submit date:2601151200 done date:2601151201 stat:${r.stat} err:${r.err ?? "000"} text:${r.text ?? ""}`;
}

export async function startFakeSmsc(account: { systemId: string; password: string }): Promise<FakeSmsc> {
  const binds: BindRecord[] = [];
  const submits: SubmitSmRecord[] = [];
  const replies: SubmitReply[] = [];
  const events = new EventEmitter();
  const sessions = new Set<ServerSession>();
  let bound: ServerSession | null = null;
  let enquireLinks = 0;
  let unbinds = 0;
  let answerEnquireLink = true;
  let nextId = 0x5f3a9c00;

  const server = smpp.createServer({ noDelay: true }, (session) => {
    sessions.add(session);
    const nextRaw = tapRawPdus(session.socket);
    let isBound = false;
    session.on("error", () => {});
    session.on("close", () => {
      sessions.delete(session);
      if (bound === session) bound = null;
      events.emit("session_closed");
    });
    session.on("pdu", (pdu) => {
      const raw = nextRaw();
      switch (pdu.command) {
        case "bind_transceiver":
        case "bind_transmitter":
        case "bind_receiver": {
          const systemId = String(pdu.system_id);
          const password = String(pdu.password);
          const status =
            systemId !== account.systemId
              ? smpp.errors.ESME_RINVSYSID
              : password !== account.password
                ? smpp.errors.ESME_RINVPASWD
                : 0;
          binds.push({
            command: pdu.command,
            systemId,
            password,
            systemType: String(pdu.system_type),
            interfaceVersion: Number(pdu.interface_version),
            accepted: status === 0,
          });
          if (status !== 0) {
            // As many SMSCs do: answer the failure, then hang up.
            session.send(pdu.response({ command_status: status }), () => session.destroy());
          } else {
            isBound = true;
            bound = session;
            session.send(pdu.response({ system_id: "fakesmsc" }));
          }
          events.emit("bind");
          return;
        }
        case "submit_sm": {
          if (!isBound) {
            session.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }));
            return;
          }
          submits.push(parseSubmitSm(raw));
          events.emit("submit_sm");
          const reply = replies.shift() ?? { messageId: (nextId++).toString(16) };
          if ("drop" in reply) session.destroy();
          else if ("status" in reply) session.send(pdu.response({ command_status: reply.status }));
          else if ("messageId" in reply) session.send(pdu.response({ message_id: reply.messageId }));
          return;
        }
        case "enquire_link":
          enquireLinks++;
          events.emit("enquire_link");
          if (answerEnquireLink) session.send(pdu.response());
          return;
        case "unbind":
          unbinds++;
          events.emit("unbind");
          session.send(pdu.response());
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const boundSession = () => {
    if (!bound) throw new Error("the fake SMSC has no bound session");
    return bound;
  };

  return {
    port,
    binds,
    submits,
    get enquireLinks() {
      return enquireLinks;
    },
    get unbinds() {
      return unbinds;
    },
    queueSubmitReply: (reply) => replies.push(reply),
    ignoreEnquireLink: () => {
      answerEnquireLink = false;
    },
    deliverSm(fields) {
      const options: Record<string, unknown> = {
        source_addr_ton: fields.sourceAddrTon ?? 1,
        source_addr_npi: 1,
        source_addr: fields.sourceAddr ?? "14155550142",
        dest_addr_ton: 5,
        dest_addr_npi: 0,
        destination_addr: fields.destinationAddr ?? "verifyd",
        esm_class: fields.esmClass,
        data_coding: fields.dataCoding ?? 0,
        short_message: fields.shortMessage,
      };
      if (fields.receiptedMessageId !== undefined) options.receipted_message_id = fields.receiptedMessageId;
      if (fields.messageState !== undefined) options.message_state = fields.messageState;
      if (fields.networkErrorCode !== undefined) options.network_error_code = fields.networkErrorCode;
      const session = boundSession();
      return new Promise((resolve) => session.deliver_sm(options, (resp) => resolve(resp.command_status)));
    },
    enquireLink() {
      const session = boundSession();
      return new Promise((resolve) =>
        session.enquire_link((resp) => resolve({ command: resp.command, status: resp.command_status })),
      );
    },
    dropConnections() {
      for (const session of sessions) session.destroy();
    },
    next(event, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off(event, onEvent);
          reject(new Error(`the fake SMSC saw no ${event} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onEvent = () => {
          clearTimeout(timer);
          resolve();
        };
        events.once(event, onEvent);
      });
    },
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The package reads each PDU off the socket with `read(4)` then `read(length - 4)` and emits it at once,
 * so teeing `read` gives, in order, the exact bytes of each PDU it emits.
 */
function tapRawPdus(socket: Socket): () => Buffer {
  let buffered = Buffer.alloc(0);
  const read = socket.read.bind(socket);
  socket.read = ((size?: number) => {
    const chunk: unknown = read(size);
    if (Buffer.isBuffer(chunk)) buffered = Buffer.concat([buffered, chunk]);
    return chunk;
  }) as Socket["read"];
  return () => {
    const length = buffered.readUInt32BE(0);
    const pdu = buffered.subarray(0, length);
    buffered = buffered.subarray(length);
    return pdu;
  };
}

/** SMPP 3.4 §4.4.1 field by field. */
export function parseSubmitSm(pdu: Buffer): SubmitSmRecord {
  let offset = 16;
  const int8 = () => pdu.readUInt8(offset++);
  const cstring = () => {
    const end = pdu.indexOf(0, offset);
    if (end < 0) throw new Error("unterminated C-Octet String");
    const value = pdu.toString("ascii", offset, end);
    offset = end + 1;
    return value;
  };
  const record: Omit<SubmitSmRecord, "shortMessage" | "tlvs"> = {
    commandId: pdu.readUInt32BE(4),
    serviceType: cstring(),
    sourceAddrTon: int8(),
    sourceAddrNpi: int8(),
    sourceAddr: cstring(),
    destAddrTon: int8(),
    destAddrNpi: int8(),
    destinationAddr: cstring(),
    esmClass: int8(),
    protocolId: int8(),
    priorityFlag: int8(),
    scheduleDeliveryTime: cstring(),
    validityPeriod: cstring(),
    registeredDelivery: int8(),
    replaceIfPresentFlag: int8(),
    dataCoding: int8(),
    smDefaultMsgId: int8(),
  };
  const smLength = int8();
  const shortMessage = Buffer.from(pdu.subarray(offset, offset + smLength));
  offset += smLength;
  const tlvs = new Map<number, Buffer>();
  while (offset + 4 <= pdu.length) {
    const tag = pdu.readUInt16BE(offset);
    const length = pdu.readUInt16BE(offset + 2);
    tlvs.set(tag, Buffer.from(pdu.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  if (pdu.readUInt32BE(0) !== pdu.length) throw new Error("command_length does not match the PDU");
  return { ...record, shortMessage, tlvs };
}
