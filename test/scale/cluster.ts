import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/services.js";
import { until, within } from "../helpers/waiting.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ADMIN_KEY = "scale-admin-key-0123456789abcdef";

export interface Instance {
  base: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
  alive(): boolean;
}

/** Starts `count` built verifyd servers (dist/) sharing the configuration `env` (one database, one Redis). */
export async function startCluster(
  count: number,
  env: Record<string, string>,
  only: (index: number) => Record<string, string> = () => ({}),
): Promise<Instance[]> {
  const secret = randomBytes(36).toString("base64");
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const proc = spawn(process.execPath, ["dist/cli.js", "serve"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        PORT: String(port),
        VERIFYD_HOST: "127.0.0.1",
        VERIFYD_SECRET: secret,
        VERIFYD_ADMIN_KEY: ADMIN_KEY,
        VERIFYD_ENV: "production",
        VERIFYD_LOG_LEVEL: "warn",
        ...env,
        ...only(i),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    proc.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    proc.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise((r) => proc.once("exit", r));
    const instance = {
      base: `http://127.0.0.1:${port}`,
      proc,
      output: () => output,
      exited,
      alive: () => proc.exitCode === null && proc.signalCode === null,
    };
    instances.push(instance);
  }
  for (const instance of instances) {
    await until(
      "GET /readyz = 200",
      async () => {
        if (!instance.alive()) throw new Error(`server exited:\n${instance.output()}`);
        const res = await fetch(`${instance.base}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      200,
    );
  }
  return instances;
}

export async function stopCluster(instances: Instance[]): Promise<void> {
  for (const instance of instances) {
    if (instance.alive()) instance.proc.kill("SIGKILL");
    await within(instance.exited, 5000, "stopping an instance");
  }
}

export async function api<T = Record<string, unknown>>(
  instance: Instance,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${instance.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}
