import { createWriteStream, type WriteStream } from "node:fs";
import type { Sender } from "../core/sender.js";

export interface DryrunSenderOptions {
  /**
   * File or FIFO that receives one `<verification_id> <code> <to>\n` line per send, for load
   * generators that must check codes (and tell which of their requests a send was for). It holds
   * codes and numbers in clear: load tests only (`loadConfig` refuses it in production without
   * `VERIFYD_ALLOW_DRYRUN=true`).
   */
  captureFile?: string;
  /** Told once when the capture file fails (reader gone, disk full); capturing then stops, sending does not. */
  onCaptureError?: (err: Error) => void;
}

/**
 * Load-test channel: accepts every message in process, without any network call, so a load test
 * measures verifyd and not a gateway. Each send gets a fresh provider message id, as a provider's would.
 */
export function createDryrunSender(options: DryrunSenderOptions = {}): Sender & { close(): Promise<void> } {
  let capture: WriteStream | undefined;
  if (options.captureFile) {
    // Appending, and buffered by the stream: a send never waits for the disk or a slow FIFO reader.
    capture = createWriteStream(options.captureFile, { flags: "a" });
    capture.on("error", (err) => {
      capture = undefined;
      options.onCaptureError?.(err);
    });
  }
  let sent = 0;
  const prefix = `dryrun-${process.pid.toString(36)}-${Date.now().toString(36)}-`;
  return {
    provider: "dryrun",
    // A load test may run any channel's route.
    channels: ["sms", "whatsapp", "rcs", "voice", "email"],
    async send(message) {
      capture?.write(`${message.verificationId} ${message.code} ${message.to}\n`);
      sent++;
      return { kind: "accepted", providerMessageId: `${prefix}${sent}` };
    },
    close() {
      const stream = capture;
      capture = undefined;
      if (!stream) return Promise.resolve();
      return new Promise<void>((resolve) => stream.end(() => resolve()));
    },
  };
}
