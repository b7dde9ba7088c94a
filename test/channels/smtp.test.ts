import { afterEach, describe, expect, it } from "vitest";
import { createSmtpSender, type SmtpConfig, smtpConfigSchema } from "../../src/channels/smtp.js";
import { renderEmail } from "../../src/core/messages/email.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { type FakeSmtp, startFakeSmtp } from "../fakes/smtp.js";
import { freePort } from "../helpers/webhook-sink.js";

const never = new AbortController().signal;
const USER = { user: "relay-user", pass: "relay-pass-0123" };

const email = (to = "ada@example.com", locale = "en"): OutboundMessage => {
  const content = renderEmail({ locale, serviceName: "Acme", code: "482913", secondsLeft: 600 });
  return {
    deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
    to,
    channel: "email",
    code: "482913",
    body: content.text,
    locale,
    expiresAt: Date.now() + 600_000,
    email: { subject: content.subject, html: content.html, from: null },
  };
};

describe("smtp sender", () => {
  let server: FakeSmtp | undefined;
  const senders: (Sender & { close(): void })[] = [];
  afterEach(async () => {
    for (const s of senders.splice(0)) s.close();
    await server?.close();
    server = undefined;
  });

  const make = (settings: Partial<Record<keyof SmtpConfig, unknown>>, fake = server as FakeSmtp) => {
    const sender = createSmtpSender(
      smtpConfigSchema.parse({
        host: fake.host,
        port: fake.port,
        from: "Acme <no-reply@auth.acme.example>",
        ca: fake.ca,
        timeoutMs: 5000,
        ...settings,
      }),
      { name: "mail" },
    );
    senders.push(sender);
    return sender;
  };

  it("sends over STARTTLS with AUTH a multipart message: code first in the subject, text then HTML, no links", async () => {
    server = await startFakeSmtp({ auth: USER });
    const sender = make({ user: USER.user, password: USER.pass });
    const result = await sender.send(email(), never);
    expect(result).toMatchObject({ kind: "accepted", providerMessageId: expect.stringMatching(/^<.+@.+>$/) });
    expect(server.received).toHaveLength(1);
    const mail = server.received[0];
    expect(mail).toMatchObject({
      secure: true,
      user: USER.user,
      mailFrom: "no-reply@auth.acme.example",
      rcptTo: ["ada@example.com"],
    });
    const { parsed } = mail as NonNullable<typeof mail>;
    expect(parsed.subject).toBe("482913 is your Acme verification code");
    expect(parsed.from?.value).toEqual([{ address: "no-reply@auth.acme.example", name: "Acme" }]);
    expect(parsed.text?.trim().split("\n")[0]).toBe("482913");
    expect(parsed.text).toContain("It expires in 10 minutes.");
    expect(parsed.html).toContain(">482913</p>");
    expect(parsed.html).not.toMatch(/<a\s|<img|https?:/i);
    expect(parsed.headers.get("auto-submitted")).toBe("auto-generated");
    expect(parsed.headers.get("content-type")).toMatchObject({ value: "multipart/alternative" });
    expect(mail?.raw.indexOf("text/plain")).toBeLessThan(mail?.raw.indexOf("text/html") ?? 0);
    expect(sender.channels).toEqual(["email"]);
  });

  it("sends over implicit TLS, in the message's language, from the service's own From", async () => {
    server = await startFakeSmtp({ secure: true });
    const message = email("ada@example.com", "ja");
    const result = await make({ secure: true }).send(
      { ...message, email: { ...message.email!, from: "Kobo <code@kobo.example>" } },
      never,
    );
    expect(result).toMatchObject({ kind: "accepted" });
    const { parsed, secure } = server.received[0] as NonNullable<FakeSmtp["received"][number]>;
    expect(secure).toBe(true);
    expect(parsed.subject).toBe("482913 はAcmeの認証コードです");
    expect(parsed.from?.value).toEqual([{ address: "code@kobo.example", name: "Kobo" }]);
    expect(parsed.text).toContain("有効期限は10 分です");
  });

  it("an untrusted certificate is a configuration problem, and nothing is sent", async () => {
    server = await startFakeSmtp({ auth: USER });
    const result = await make({ ca: undefined, user: USER.user, password: USER.pass }).send(email(), never);
    expect(result).toMatchObject({ kind: "misconfigured" });
    expect(server.received).toHaveLength(0);
  });

  it("a relay that offers no STARTTLS is refused while TLS is required", async () => {
    server = await startFakeSmtp({ noStartTls: true });
    const result = await make({}).send(email(), never);
    expect(result).toMatchObject({ kind: "misconfigured" });
    expect(server.received).toHaveLength(0);
  });

  it("a wrong password is 535: misconfigured", async () => {
    server = await startFakeSmtp({ auth: USER });
    const result = await make({ user: USER.user, password: "wrong" }).send(email(), never);
    expect(result).toMatchObject({ kind: "misconfigured", error: { code: "smtp_535" } });
  });

  it.each([
    ["nouser@example.com", "rejected", "smtp_550"],
    ["tempfail@example.com", "retry", "smtp_451"],
    ["spam@example.com", "rejected", "smtp_554"],
  ])("%s is %s (%s), and the error text names neither the address nor the code", async (to, kind, code) => {
    server = await startFakeSmtp();
    const result = await make({}).send(email(to), never);
    expect(result).toMatchObject({ kind, error: { code } });
    const text = result.kind === "accepted" ? "" : result.error.message;
    expect(text).not.toContain(to);
    expect(text).not.toContain("482913");
  });

  it("an unreachable relay is a retry", async () => {
    server = await startFakeSmtp();
    const port = await freePort();
    const result = await make({ port }).send(email(), never);
    expect(result).toMatchObject({ kind: "retry" });
  });

  it("refuses a From that is not an address, and a user without a password", () => {
    expect(smtpConfigSchema.safeParse({ host: "h", from: "Acme" }).success).toBe(false);
    expect(smtpConfigSchema.safeParse({ host: "h", from: "a@b.example", user: "u" }).success).toBe(false);
    expect(smtpConfigSchema.safeParse({ host: "h", from: "Acme\r\nBcc: x@y.example <a@b.example>" }).success).toBe(false);
    expect(smtpConfigSchema.safeParse({ host: "h", from: "a@b.example", pasword: "typo" }).success).toBe(false);
  });
});
