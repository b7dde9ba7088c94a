// Lints the Dockerfile for the properties the deployment guide promises (there is no Docker engine
// in CI, and hadolint is not packaged): multi-stage, non-root, /data volume, HEALTHCHECK on /healthz
// without curl, STOPSIGNAL SIGTERM, writes confined to /data (read-only root), secrets only as *_FILE.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SECRET_VARIABLES = [
  "VERIFYD_SECRET",
  "VERIFYD_ADMIN_KEY",
  "VERIFYD_HTTP_CHANNEL_SECRET",
  "VERIFYD_METRICS_TOKEN",
  "VERIFYD_EVENTS_SECRET",
];

/** Instructions as { keyword, args } with continuation lines joined and comments dropped. */
export function parseDockerfile(text) {
  const logical = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
  });
}

/** `ENV A=1 B="two"` (and the legacy `ENV A 1`) as an object. */
export function envOf(instructions) {
  const env = {};
  for (const { args } of instructions.filter((i) => i.keyword === "ENV")) {
    if (!args.includes("=")) {
      const [name, ...value] = args.split(/\s+/);
      env[name] = value.join(" ");
      continue;
    }
    for (const [, name, quoted, bare] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) {
      env[name] = quoted ?? bare;
    }
  }
  return env;
}

/** The instructions of the last stage (the image that runs). */
export function finalStage(instructions) {
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

export function lintDockerfile(text) {
  const all = parseDockerfile(text);
  const final = finalStage(all);
  const env = envOf(final);
  const one = (keyword) => final.filter((i) => i.keyword === keyword).at(-1)?.args ?? "";
  const problems = [];
  const expect = (ok, message) => ok || problems.push(message);

  expect(all.filter((i) => i.keyword === "FROM").length >= 2, "multi-stage: build in one stage, run from another");
  expect(
    /--from=/.test(
      final
        .filter((i) => i.keyword === "COPY")
        .map((i) => i.args)
        .join(" "),
    ),
    "the final stage copies the build output with COPY --from",
  );
  expect(
    !final.some((i) => i.keyword === "RUN" && /\b(g\+\+|gcc|make|python3)\b/.test(i.args)),
    "no compiler toolchain in the final stage",
  );
  const user = one("USER");
  expect(user !== "" && !/^(root|0)(:|$)/.test(user), "USER: the final stage runs as a non-root user");
  expect(/(^|[\s"[])\/data([\s"\]]|$)/.test(one("VOLUME")), "VOLUME /data");
  const health = one("HEALTHCHECK");
  expect(/\/healthz/.test(health), "HEALTHCHECK probes /healthz");
  expect(!/\b(curl|wget)\b/.test(health), "HEALTHCHECK works without curl/wget (slim image): use node -e fetch");
  expect(one("STOPSIGNAL") === "SIGTERM", "STOPSIGNAL SIGTERM");
  expect((env.VERIFYD_DB ?? "").startsWith("/data/"), "ENV VERIFYD_DB under /data (read-only root filesystem)");
  expect(env.SQLITE_TMPDIR === "/data", "ENV SQLITE_TMPDIR=/data (SQLite temp files off the read-only root)");
  expect(/^\[/.test(one("CMD")) || /^\[/.test(one("ENTRYPOINT")), "CMD/ENTRYPOINT in exec form, so SIGTERM reaches node");
  for (const name of SECRET_VARIABLES) {
    expect(!(name in env), `${name} is not baked into the image (pass ${name}_FILE at run time)`);
    expect(
      !all.some((i) => i.keyword === "ARG" && i.args.startsWith(name)),
      `no ARG ${name} (build args end up in the image history)`,
    );
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? fileURLToPath(new URL("../Dockerfile", import.meta.url));
  const problems = lintDockerfile(readFileSync(path, "utf8"));
  if (problems.length > 0) {
    process.stderr.write(`Dockerfile check failed:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("Dockerfile check passed\n");
}
