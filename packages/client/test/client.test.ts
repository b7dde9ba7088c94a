import { afterEach, describe, expect, it, vi } from "vitest";
import { VerifydClient, VerifydError, VerifydNetworkError } from "../src/index.js";

/** The client on its own, against a scripted fetch: requests, retries, errors. */

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Answer = Response | Error | ((signal: AbortSignal) => Promise<Response>);

/** A fetch that records each call and answers from `answers`, in order. */
function scriptedFetch(...answers: Answer[]) {
  const calls: Call[] = [];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    calls.push({
      url: String(input),
      method: init.method ?? "GET",
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: init.body === undefined || init.body === null ? undefined : String(init.body),
    });
    const answer = answers.shift();
    if (answer === undefined) throw new Error("no more answers scripted");
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer(init.signal as AbortSignal);
    return answer;
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problem = (code: string, status: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: "about:blank", title: code, status, code, detail: `${code} detail`, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

const VERIFICATION = { id: "ver_1", to: "+14155550100", status: "pending", attempts_remaining: 5 };

afterEach(() => {
  vi.useRealTimers();
});

describe("requests", () => {
  it("sends the key, JSON and an Idempotency-Key on POST; none on GET", async () => {
    const { fetch, calls } = scriptedFetch(json(VERIFICATION, 201), json(VERIFICATION));
    const client = new VerifydClient({ baseUrl: "http://verifyd.test:8080/", apiKey: "vfd_k", fetch });
    await expect(client.start({ to: "+14155550100" })).resolves.toMatchObject({ id: "ver_1" });
    await client.get("ver_1", { wait: 30 });
    expect(calls[0]).toMatchObject({
      url: "http://verifyd.test:8080/v1/verifications",
      method: "POST",
      body: JSON.stringify({ to: "+14155550100" }),
    });
    expect(calls[0]?.headers).toMatchObject({ authorization: "Bearer vfd_k", "content-type": "application/json" });
    expect(calls[0]?.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[1]).toMatchObject({ url: "http://verifyd.test:8080/v1/verifications/ver_1?wait=30", method: "GET" });
    expect(calls[1]?.headers["idempotency-key"]).toBeUndefined();
  });

  it("checks by id or by number, resends and cancels at their paths, ids encoded", async () => {
    const outcome = { valid: true, status: "approved", reason: null, attempts_remaining: 0, verification_id: "ver_1" };
    const { fetch, calls } = scriptedFetch(json(outcome), json(outcome), json(VERIFICATION), json(VERIFICATION));
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch });
    await client.check({ id: "ver/1", code: "123456" });
    await client.check({ to: "+14155550100", code: "123456" }, { idempotencyKey: "check-1" });
    await client.resend("ver_1", { client_ip: "203.0.113.7" });
    await client.cancel("ver_1");
    expect(calls.map((c) => `${c.method} ${c.url} ${c.body ?? "-"}`)).toEqual([
      'POST http://v/v1/verifications/ver%2F1/check {"code":"123456"}',
      'POST http://v/v1/verification-checks {"to":"+14155550100","code":"123456"}',
      'POST http://v/v1/verifications/ver_1/resend {"client_ip":"203.0.113.7"}',
      "POST http://v/v1/verifications/ver_1/cancel -",
    ]);
    expect(calls[1]?.headers["idempotency-key"]).toBe("check-1");
  });
});

describe("errors", () => {
  it("turns a problem document into a typed VerifydError", async () => {
    const body = {
      request_id: "req_1",
      errors: [{ pointer: "/to", detail: "Invalid" }],
      limit: { rule: "sends_per_destination", limit: 5, remaining: 0, window_s: 600 },
      reasons: ["premium_rate"],
    };
    const { fetch } = scriptedFetch(problem("invalid_request", 400, body));
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch });
    const err = await client.start({ to: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerifydError);
    expect(err).toMatchObject({
      code: "invalid_request",
      status: 400,
      detail: "invalid_request detail",
      requestId: "req_1",
      errors: body.errors,
      limit: body.limit,
      reasons: body.reasons,
      retryAfter: undefined,
    });
  });

  it("does not retry what a retry cannot fix", async () => {
    const { fetch, calls } = scriptedFetch(problem("verification_closed", 409));
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch, retries: 3 });
    await expect(client.cancel("ver_1")).rejects.toMatchObject({ code: "verification_closed", status: 409 });
    expect(calls).toHaveLength(1);
  });

  it("throws a Retry-After longer than it waits for at once", async () => {
    const { fetch, calls } = scriptedFetch(problem("rate_limited", 429, {}, { "retry-after": "60" }));
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch, retries: 2 });
    await expect(client.start({ to: "+14155550100" })).rejects.toMatchObject({ code: "rate_limited", retryAfter: 60 });
    expect(calls).toHaveLength(1);
  });
});

describe("retries", () => {
  it("retries a 503 after its Retry-After with the same Idempotency-Key", async () => {
    vi.useFakeTimers();
    const { fetch, calls } = scriptedFetch(problem("service_unavailable", 503, {}, { "retry-after": "1" }), json(VERIFICATION, 201));
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch });
    const started = client.start({ to: "+14155550100" });
    await vi.advanceTimersByTimeAsync(1000);
    await expect(started).resolves.toMatchObject({ id: "ver_1" });
    expect(calls).toHaveLength(2);
    expect(calls[1]?.headers["idempotency-key"]).toBe(calls[0]?.headers["idempotency-key"]);
  });

  it("retries network errors, then gives up with VerifydNetworkError", async () => {
    vi.useFakeTimers();
    const refused = new TypeError("fetch failed");
    const { fetch, calls } = scriptedFetch(refused, refused, refused);
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch, retries: 2 });
    const read = client.get("ver_1").catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(200 + 400);
    const err = await read;
    expect(err).toBeInstanceOf(VerifydNetworkError);
    expect((err as Error).cause).toBe(refused);
    expect(calls).toHaveLength(3);
  });

  it("aborts a try that takes longer than timeoutMs", async () => {
    vi.useFakeTimers();
    const hang = (signal: AbortSignal) =>
      new Promise<Response>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const { fetch, calls } = scriptedFetch(hang);
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch, retries: 0, timeoutMs: 5_000 });
    const read = client.get("ver_1").catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await read).toBeInstanceOf(VerifydNetworkError);
    expect(calls).toHaveLength(1);
  });

  it("stops when the caller aborts, with the caller's reason", async () => {
    const caller = new AbortController();
    const hang = (signal: AbortSignal) =>
      new Promise<Response>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const { fetch } = scriptedFetch(hang);
    const client = new VerifydClient({ baseUrl: "http://v", apiKey: "k", fetch });
    const read = client.get("ver_1", { signal: caller.signal }).catch((e: unknown) => e);
    caller.abort(new Error("user left"));
    expect(await read).toMatchObject({ message: "user left" });
  });
});
