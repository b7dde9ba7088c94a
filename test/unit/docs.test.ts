import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The documentation's relative links: every link in README.md and docs/ names a file that exists,
 * and every `#anchor` names a heading of its page (GitHub's slugs), so pages can move and headings
 * change without leaving dead links behind.
 */

const ROOT = resolve(import.meta.dirname, "../..");

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith(".md") ? [path] : [];
  });
}

const PAGES = [join(ROOT, "README.md"), ...markdownFiles(join(ROOT, "docs"))];

/** The text outside fenced code blocks, line for line (fenced lines become empty). */
function prose(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
      return "";
    }
    return fence === undefined ? line : "";
  });
}

/** GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** Every anchor a page offers, duplicates numbered as GitHub does (`name`, `name-1`, …). */
function anchors(path: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(readFileSync(path, "utf8"))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

interface Link {
  page: string;
  line: number;
  target: string;
}

function links(path: string): Link[] {
  const found: Link[] = [];
  prose(readFileSync(path, "utf8")).forEach((text, index) => {
    const withoutCode = text.replace(/(`+)[^`]*?\1/g, "");
    for (const match of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ page: path, line: index + 1, target: match[1] as string });
    }
  });
  return found;
}

/** Why a link does not resolve, or undefined when it does. External links are not followed. */
function broken({ page, target }: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf("#");
  const file = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const destination = file === "" ? page : resolve(dirname(page), decodeURIComponent(file));
  if (!existsSync(destination)) return "no such file";
  if (anchor === undefined) return undefined;
  if (statSync(destination).isDirectory() || !destination.endsWith(".md")) return "an anchor into a file that is not a page";
  return anchors(destination).has(anchor) ? undefined : `no heading #${anchor} in ${relative(ROOT, destination)}`;
}

describe("documentation links", () => {
  it("finds the pages and their links", () => {
    expect(PAGES.map((p) => relative(ROOT, p))).toContain("docs/README.md");
    expect(PAGES.flatMap(links).length).toBeGreaterThan(50);
  });

  it("resolves every relative link and anchor in README.md and docs/", () => {
    const failures = PAGES.flatMap(links).flatMap((link) => {
      const why = broken(link);
      return why ? [`${relative(ROOT, link.page)}:${link.line}: (${link.target}) ${why}`] : [];
    });
    expect(failures).toEqual([]);
  });

  it("slugs headings as GitHub does", () => {
    expect(slug("Transaction binding (PSD2)")).toBe("transaction-binding-psd2");
    expect(slug("`POST /v1/factors`: create a TOTP factor")).toBe("post-v1factors-create-a-totp-factor");
    expect(slug("The [HTTP channel](providers.md) and `VERIFYD_SENDER`")).toBe("the-http-channel-and-verifyd_sender");
  });
});

describe("documentation tables", () => {
  // The script builds dist/ when it is stale, which can take a while on a cold checkout.
  it("match the code: every variable, rate limit and error code, with its default or status", { timeout: 180_000 }, () => {
    const run = () => execFileSync(process.execPath, ["scripts/docs-tables.mjs", "--check"], { cwd: ROOT, stdio: "pipe" });
    expect(run).not.toThrow();
  });
});

describe("the metrics table", () => {
  it("in docs/operations.md lists every metric src/observability/metrics.ts registers, and no other", () => {
    const source = readFileSync(join(ROOT, "src/observability/metrics.ts"), "utf8");
    const registered = [...source.matchAll(/name: "(verifyd_[a-z_]+)"/g)].map((m) => m[1]).sort();
    const page = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const documented = [...page.matchAll(/^\| `(verifyd_[a-z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(registered.length).toBeGreaterThan(10);
    expect(documented).toEqual(registered);
  });
});

describe("the Twilio error table", () => {
  it("in docs/migrating-from-twilio.md names every Twilio code src/http/twilio/errors.ts answers with", () => {
    const source = readFileSync(join(ROOT, "src/http/twilio/errors.ts"), "utf8");
    // 20004 stands for method_not_allowed, which is never returned (docs/errors.md).
    const answered = new Set(
      [...source.matchAll(/(?:code: |TwilioError\()(\d{5})/g)].map((m) => m[1]).filter((c) => c !== "20004"),
    );
    const page = readFileSync(join(ROOT, "docs/migrating-from-twilio.md"), "utf8");
    const documented = new Set([...page.matchAll(/^\|.*\| (\d{5}) \| \d{3} \|$/gm)].map((m) => m[1]));
    expect(answered.size).toBeGreaterThan(8);
    expect([...answered].filter((code) => !documented.has(code))).toEqual([]);
  });
});
