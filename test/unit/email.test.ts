import { describe, expect, it } from "vitest";
import { DEFAULT_SCREENING_RULES } from "../../src/core/abuse.js";
import { destinationLimitKey, emailLimitKey, maskEmail, normalizeEmail, parseMailbox } from "../../src/core/email.js";
import { isDisposableDomain, screenEmail } from "../../src/core/email-screening.js";
import { VerifydError } from "../../src/core/errors.js";
import { maskPhone } from "../../src/core/events.js";

describe("normalizeEmail", () => {
  it.each([
    ["  Ada@Example.COM ", "ada@example.com"],
    ["ada@Bücher.example", "ada@xn--bcher-kva.example"],
    ["ada@ＥＸＡＭＰＬＥ.com", "ada@example.com"],
    ["ada@例え.テスト", "ada@xn--r8jz45g.xn--zckzah"],
    ["ada@münchen.de.", "ada@xn--mnchen-3ya.de"],
    ["o'brien+tag@mail.example.org", "o'brien+tag@mail.example.org"],
    ["we@b@example.com".replace("we@b", "web"), "web@example.com"],
  ])("%s → %s", (input, address) => {
    expect(normalizeEmail(input).address).toBe(address);
  });

  it.each([
    "ada",
    "@example.com",
    "ada@",
    "ada@localhost",
    "ada@ex_ample.com",
    "ada@a..b",
    "ada@-a.com",
    "ada@1.2.3.4",
    "ada@[127.0.0.1]",
    ".ada@example.com",
    "a..da@example.com",
    '"ada"@example.com',
    "ada lovelace@example.com",
    "adä@example.com",
    "ada@example.com\r\nBcc: x@example.com",
    `${"a".repeat(65)}@example.com`,
    `ada@${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.example`,
  ])("refuses %j with invalid_email_address", (input) => {
    expect(() => normalizeEmail(input)).toThrow(VerifydError);
    try {
      normalizeEmail(input);
    } catch (err) {
      expect((err as VerifydError).code).toBe("invalid_email_address");
    }
  });
});

describe("limit keys and masking", () => {
  it("merges +tags everywhere and Gmail's dots and googlemail.com, leaving other addresses as they are", () => {
    expect(emailLimitKey("ada+news@example.com")).toBe("ada@example.com");
    expect(emailLimitKey("a.da+x@googlemail.com")).toBe("ada@gmail.com");
    expect(emailLimitKey("a.da@example.com")).toBe("a.da@example.com");
    expect(emailLimitKey("+only@example.com")).toBe("+only@example.com");
    expect(destinationLimitKey("+14155550100")).toBe("+14155550100");
  });

  it("masks an address to its first character and domain, wherever destinations are masked", () => {
    expect(maskEmail("ada.lovelace@example.com")).toBe("a***@example.com");
    expect(maskPhone("ada.lovelace@example.com")).toBe("a***@example.com");
    expect(maskPhone("+14155550100")).toBe("+1415***0100");
  });

  it("reads a From as an address or a name and an address, nothing else", () => {
    expect(parseMailbox("Acme <no-reply@auth.acme.example>")).toEqual({ name: "Acme", address: "no-reply@auth.acme.example" });
    expect(parseMailbox("no-reply@auth.acme.example")).toEqual({ name: null, address: "no-reply@auth.acme.example" });
    for (const bad of ["Acme", "Acme <x>", 'A"c <a@b.example>', "A\nB <a@b.example>", "a@b.example, c@d.example"]) {
      expect(parseMailbox(bad)).toBeNull();
    }
  });
});

describe("disposable domains", () => {
  const screening = { rules: DEFAULT_SCREENING_RULES };
  it("knows the maintained list's domains and their subdomains, not ordinary ones", () => {
    expect(isDisposableDomain("mailinator.com")).toBe(true);
    expect(isDisposableDomain("x.y.mailinator.com")).toBe(true);
    expect(isDisposableDomain("gmail.com")).toBe(false);
    expect(isDisposableDomain("example.org")).toBe(false);
  });

  it("refuses in enforce mode, logs in monitor mode, and lets allow-listed or unscreened domains through", () => {
    expect(() => screenEmail("a@mailinator.com", screening)).toThrow(/disposable_email_domain/);
    const warnings: object[] = [];
    const monitor = {
      rules: { ...DEFAULT_SCREENING_RULES, mode: "monitor" as const },
      logger: { warn: (f: object) => warnings.push(f) },
    };
    expect(() => screenEmail("a@mailinator.com", monitor)).not.toThrow();
    expect(warnings).toEqual([expect.objectContaining({ to: "a***@mailinator.com", reasons: ["disposable_email_domain"] })]);
    const allowed = {
      rules: { ...DEFAULT_SCREENING_RULES, email: { refuseDisposable: true, allowDomains: ["mailinator.com"] } },
    };
    expect(() => screenEmail("a@x.mailinator.com", allowed)).not.toThrow();
    const off = { rules: { ...DEFAULT_SCREENING_RULES, email: { refuseDisposable: false, allowDomains: [] } } };
    expect(() => screenEmail("a@mailinator.com", off)).not.toThrow();
  });
});
