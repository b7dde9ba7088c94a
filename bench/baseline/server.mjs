// The baseline: the same stack as verifyd (Hono + @hono/node-server + better-sqlite3) doing the least
// honest OTP work — store a keyed hash of a fresh code, hand the code over the way verifyd's dryrun
// channel does (a `<id> <code>` line on the bench's capture FIFO), check it once in constant time — with
// no limits, routing, outbox, events, idempotency or logging.
// It is the practical ceiling for this stack on this machine, run beside verifyd by bench/run.mjs.
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { serve } from "@hono/node-server";
import Database from "better-sqlite3";
import { Hono } from "hono";

const db = new Database(process.env.BASELINE_DB ?? ":memory:");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec(`create table if not exists otp (id text primary key, to_number text not null, code_hash blob not null,
  status text not null, checks integer not null default 0, expires_at integer not null)`);
const insert = db.prepare("insert into otp (id, to_number, code_hash, status, expires_at) values (?, ?, ?, 'pending', ?)");
const count = db.prepare(
  "update otp set checks = checks + 1 where id = ? and status = 'pending' and expires_at > ? and checks < 5 returning code_hash",
);
const approve = db.prepare("update otp set status = 'approved', code_hash = x'' where id = ? and status = 'pending'");

const key = randomBytes(32);
const hash = (id, code) => createHmac("sha256", key).update(id).update("\0").update(code).digest();
const capture = createWriteStream(process.env.CAPTURE_FILE ?? "/dev/null", { flags: "a" });

const app = new Hono();
app.get("/readyz", (c) => c.json({ status: "ready" }));
app.post("/v1/verifications", async (c) => {
  const { to } = await c.req.json();
  if (typeof to !== "string") return c.json({ error: "to" }, 400);
  const id = `ver_${randomUUID().replaceAll("-", "")}`;
  let code = "";
  for (let i = 0; i < 6; i++) code += randomInt(10);
  insert.run(id, to, hash(id, code), Date.now() + 600_000);
  capture.write(`${id} ${code}\n`);
  return c.json({ id, to, status: "pending" }, 201);
});
app.post("/v1/verifications/:id/check", async (c) => {
  const { code } = await c.req.json();
  const id = c.req.param("id");
  const row = count.get(id, Date.now());
  const valid =
    !!row && typeof code === "string" && row.code_hash.length === 32 && timingSafeEqual(row.code_hash, hash(id, code));
  const approved = valid && approve.run(id).changes === 1;
  return c.json({ valid: approved, status: approved ? "approved" : "pending" });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
process.once("SIGTERM", () => capture.end(() => process.exit(0)));
