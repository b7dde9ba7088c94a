// Checks the deployment examples in docs/deploy without a Docker engine or a cluster:
//   Compose files: after make-dev-secrets.sh has run (in a copy of the folder), every bind-mounted
//     file and every secret file exists; named volumes, secrets and depends_on targets are declared;
//     service_healthy waits on a service with a health check; the verifyd services' environment
//     (over the image's ENV) names only settings verifyd reads, and verifyd's own configuration
//     loader accepts it in production, reading the mounted files. `docker compose config` runs too
//     when Docker is installed (else a notice says it was skipped).
//   Kubernetes manifests: every object validates against the Kubernetes schemas (kubernetes-models);
//     selectors match their template, mounts and secret references resolve within the file; the
//     verifyd container's configuration loads as above from the Secret's values; and no other
//     container can read verifyd's admin key.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { envOf, finalStage, parseDockerfile } from "./check-dockerfile.mjs";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const DEPLOY = join(ROOT, "docs/deploy");

execFileSync(process.execPath, [join(ROOT, "scripts/build-if-stale.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
const { loadConfig } = await import(join(ROOT, "dist/config/env.js"));
const { SETTINGS, INPUTS, SECRET_VARIABLES } = await import(join(ROOT, "dist/config/settings.js"));
const { settingsOf } = await import(join(ROOT, "dist/config/table.js"));

/** Every variable verifyd reads: the settings, and `NAME_FILE` for each secret. */
const KNOWN_VARIABLES = new Set([
  ...[...settingsOf(SETTINGS), ...settingsOf(INPUTS)].map((s) => s.variable),
  ...SECRET_VARIABLES.map((name) => `${name}_FILE`),
  "VERIFYD_CACHE_DIR",
]);
const IMAGE = finalStage(parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8")));
const IMAGE_ENV = envOf(IMAGE);
const IMAGE_HAS_HEALTHCHECK = IMAGE.some((i) => i.keyword === "HEALTHCHECK");

const problems = [];
const report = (where, message) => problems.push(`${where}: ${message}`);

/**
 * verifyd's configuration loader on a container's environment, its files read through `files`
 * (container path → content). Reports the variables verifyd does not read and what the loader refuses.
 */
function checkVerifydEnvironment(where, environment, files) {
  const env = { ...IMAGE_ENV, ...environment };
  for (const name of Object.keys(env)) {
    if (/^VERIFYD_|_FILE$/.test(name) && !KNOWN_VARIABLES.has(name)) report(where, `${name} is not a variable verifyd reads`);
  }
  const readFile = (path) => {
    const content = files(path);
    if (content === undefined) throw new Error(`nothing is mounted at ${path}, or its file does not exist`);
    return content;
  };
  try {
    const config = loadConfig(env, readFile);
    if (config.env !== "production") report(where, "verifyd does not run in production mode");
  } catch (err) {
    report(where, `verifyd refuses the configuration: ${err.message}`);
  }
}

// --- Compose ---------------------------------------------------------------------------------------

/** `host:container[:mode]` (or the long form) of a service's volume entry. */
function mountOf(entry) {
  if (typeof entry === "object") return { source: entry.source, target: entry.target, bind: entry.type === "bind" };
  const [source, target] = entry.split(":");
  return { source, target, bind: /^[./~]/.test(source) };
}

function checkCompose(file, work) {
  const where = `docs/deploy/${file}`;
  const doc = parse(readFileSync(join(work, file), "utf8"), { merge: true });
  const services = doc.services ?? {};
  const declaredVolumes = new Set(Object.keys(doc.volumes ?? {}));
  const declaredSecrets = doc.secrets ?? {};
  if (Object.keys(services).length === 0) report(where, "no services");

  for (const [name, secret] of Object.entries(declaredSecrets)) {
    if (secret?.file && !existsSync(resolve(work, secret.file))) {
      report(where, `secret ${name}: ${secret.file} does not exist (and make-dev-secrets.sh does not create it)`);
    }
  }

  for (const [name, service] of Object.entries(services)) {
    const at = `${where} services.${name}`;
    if (!service.image && !service.build) report(at, "neither image nor build");
    const context = typeof service.build === "string" ? service.build : service.build?.context;
    const buildsVerifyd = context !== undefined && resolve(DEPLOY, context) === resolve(ROOT);
    if (context !== undefined && !existsSync(join(resolve(DEPLOY, context), service.build?.dockerfile ?? "Dockerfile"))) {
      report(at, `build context ${context} has no Dockerfile`);
    }

    /** Container path → host path, for the files this service sees. */
    const mounts = new Map();
    for (const entry of service.volumes ?? []) {
      const { source, target, bind } = mountOf(entry);
      if (bind) {
        const host = resolve(work, source);
        if (!existsSync(host)) report(at, `bind mount ${source} does not exist (and make-dev-secrets.sh does not create it)`);
        mounts.set(target, host);
      } else if (!declaredVolumes.has(source)) {
        report(at, `volume ${source} is not declared under volumes`);
      }
    }
    for (const entry of service.secrets ?? []) {
      const secretName = typeof entry === "string" ? entry : entry.source;
      const target = typeof entry === "object" && entry.target ? entry.target : secretName;
      const secret = declaredSecrets[secretName];
      if (!secret) {
        report(at, `secret ${secretName} is not declared under secrets`);
        continue;
      }
      if (secret.file) mounts.set(posix.isAbsolute(target) ? target : `/run/secrets/${target}`, resolve(work, secret.file));
    }

    const dependsOn = Array.isArray(service.depends_on)
      ? Object.fromEntries(service.depends_on.map((d) => [d, {}]))
      : (service.depends_on ?? {});
    for (const [target, condition] of Object.entries(dependsOn)) {
      const other = services[target];
      if (!other) {
        report(at, `depends_on ${target}: no such service`);
        continue;
      }
      const otherBuildsVerifyd = other.build !== undefined && resolve(DEPLOY, other.build.context ?? other.build) === ROOT;
      const healthChecked = other.healthcheck !== undefined || (otherBuildsVerifyd && IMAGE_HAS_HEALTHCHECK);
      if (condition?.condition === "service_healthy" && !healthChecked) {
        report(at, `waits for ${target} to be healthy, but ${target} has no health check`);
      }
    }

    if (buildsVerifyd) {
      const environment = Array.isArray(service.environment)
        ? Object.fromEntries(service.environment.map((e) => e.split(/=(.*)/s).slice(0, 2)))
        : Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
      checkVerifydEnvironment(at, environment, (path) => {
        const host = mounts.get(path);
        return host && existsSync(host) ? readFileSync(host, "utf8") : undefined;
      });
    }
  }

  const docker = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  if (docker.status !== 0) {
    process.stdout.write(`NOTICE: docker compose is not installed; ${where} checked without \`docker compose config\`\n`);
    return;
  }
  const config = spawnSync("docker", ["compose", "-f", file, "config", "--quiet"], { cwd: work, encoding: "utf8" });
  if (config.status !== 0) report(where, `docker compose config: ${config.stderr.trim()}`);
}

// --- Kubernetes --------------------------------------------------------------------------------------

/** The kubernetes-models class of an object, e.g. apps/v1 Deployment. */
async function modelOf(apiVersion, kind) {
  const module = await import(`kubernetes-models/${apiVersion}`).catch(() => undefined);
  return module?.[kind];
}

/** Every container of a workload's pod template, with the pod spec. */
const podOf = (object) => object.spec?.template?.spec ?? (object.kind === "Pod" ? object.spec : undefined);

async function checkKubernetes(file) {
  const where = `docs/deploy/${file}`;
  const documents = parseAllDocuments(readFileSync(join(DEPLOY, file), "utf8"));
  const objects = [];
  for (const [i, document] of documents.entries()) {
    if (document.errors.length > 0) report(`${where} #${i + 1}`, document.errors.map((e) => e.message).join("; "));
    const object = document.toJS();
    if (object) objects.push(object);
  }
  if (objects.length === 0) report(where, "no objects");

  for (const object of objects) {
    const at = `${where} ${object.kind}/${object.metadata?.name}`;
    const Model = await modelOf(object.apiVersion, object.kind);
    if (!Model) {
      report(at, `${object.apiVersion} ${object.kind} is not a Kubernetes kind`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (err) {
      report(at, `schema: ${err.message}`);
    }
  }

  /** Secret name → { key → value }, from the Secrets of the file. */
  const secrets = new Map(
    objects
      .filter((o) => o.kind === "Secret")
      .map((o) => [
        o.metadata.name,
        {
          ...o.stringData,
          ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])),
        },
      ]),
  );

  for (const object of objects) {
    const pod = podOf(object);
    if (!pod) continue;
    const at = `${where} ${object.kind}/${object.metadata.name}`;
    const labels = object.spec?.template?.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(object.spec?.selector?.matchLabels ?? {})) {
      if (labels[key] !== value) report(at, `selector ${key}=${value} does not match the pod template's labels`);
    }
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const volume of volumes.values()) {
      if (volume.secret && !secrets.has(volume.secret.secretName))
        report(at, `volume ${volume.name}: no Secret ${volume.secret.secretName}`);
    }

    /** The secret keys a container can read: "secret/key" strings. */
    const readable = (container) => {
      const keys = [];
      for (const e of container.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) keys.push(`${ref.name}/${ref.key}`);
      }
      for (const e of container.envFrom ?? []) {
        if (e.secretRef)
          for (const key of Object.keys(secrets.get(e.secretRef.name) ?? {})) keys.push(`${e.secretRef.name}/${key}`);
      }
      for (const mount of container.volumeMounts ?? []) {
        const secretName = volumes.get(mount.name)?.secret?.secretName;
        if (secretName) for (const key of Object.keys(secrets.get(secretName) ?? {})) keys.push(`${secretName}/${key}`);
      }
      return keys;
    };

    let adminKey;
    const containers = [...(pod.initContainers ?? []), ...pod.containers];
    for (const container of containers) {
      const cat = `${at} container ${container.name}`;
      for (const mount of container.volumeMounts ?? []) {
        if (!volumes.has(mount.name)) report(cat, `volumeMount ${mount.name}: no such volume`);
      }
      for (const e of container.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !(ref.key in (secrets.get(ref.name) ?? {})) && !ref.optional) {
          report(cat, `env ${e.name}: no key ${ref.key} in a Secret ${ref.name} of this file`);
        }
      }
      if (!/verifyd/.test(container.image ?? "")) continue;

      // The verifyd container: its files are the keys of the Secrets mounted into it.
      const files = new Map();
      for (const mount of container.volumeMounts ?? []) {
        const secretName = volumes.get(mount.name)?.secret?.secretName;
        for (const [key, value] of Object.entries(secrets.get(secretName) ?? {})) {
          files.set(posix.join(mount.mountPath, key), { value, ref: `${secretName}/${key}` });
        }
      }
      const environment = Object.fromEntries(
        (container.env ?? []).filter((e) => "value" in e).map((e) => [e.name, String(e.value)]),
      );
      const adminPath = { ...IMAGE_ENV, ...environment }.VERIFYD_ADMIN_KEY_FILE;
      adminKey =
        files.get(adminPath)?.ref ?? (container.env ?? []).find((e) => e.name === "VERIFYD_ADMIN_KEY")?.valueFrom?.secretKeyRef;
      if (typeof adminKey === "object") adminKey = `${adminKey.name}/${adminKey.key}`;
      checkVerifydEnvironment(cat, environment, (path) => files.get(path)?.value);
    }
    if (adminKey === undefined) {
      report(at, "no verifyd container with an admin key from a Secret");
      continue;
    }
    for (const container of containers.filter((c) => !/verifyd/.test(c.image ?? ""))) {
      if (readable(container).includes(adminKey))
        report(`${at} container ${container.name}`, `can read verifyd's admin key (${adminKey})`);
    }
  }
}

// ------------------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "verifyd-deploy-"));
try {
  cpSync(DEPLOY, work, { recursive: true, filter: (src) => relative(DEPLOY, src).split(/[\\/]/)[0] !== "secrets" });
  execFileSync("sh", [join(work, "make-dev-secrets.sh")], { stdio: "ignore" });
  const files = readdirSync(DEPLOY);
  const composeFiles = files.filter(
    (f) => /\.ya?ml$/.test(f) && /^(services|volumes):/m.test(readFileSync(join(DEPLOY, f), "utf8")),
  );
  const kubernetesFiles = files.filter((f) => /\.ya?ml$/.test(f) && /^apiVersion:/m.test(readFileSync(join(DEPLOY, f), "utf8")));
  for (const file of composeFiles) checkCompose(file, work);
  for (const file of kubernetesFiles) await checkKubernetes(file);
  if (problems.length > 0) {
    process.stderr.write(`deployment examples check failed:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`deployment examples check passed: ${[...composeFiles, ...kubernetesFiles].join(", ")}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
