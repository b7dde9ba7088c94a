import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { until } from "./waiting.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The built server (`node dist/cli.js serve`) as a child process. */
export interface ServerProcess {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the built server with exactly `env` (nothing of the test runner's environment leaks in). */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const proc = spawn(process.execPath, ["dist/cli.js", "serve"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { proc, output: () => output, exited };
}

/** Polls `GET {base}/readyz` until 200 (the process needs a moment to boot and migrate); fails if it exits. */
export async function waitReady(server: ServerProcess, base: string): Promise<void> {
  await until("GET /readyz = 200", async () => {
    if (server.proc.exitCode !== null) throw new Error(`server exited with ${server.proc.exitCode}:\n${server.output()}`);
    const res = await fetch(`${base}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  });
}
