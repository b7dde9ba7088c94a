import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheRoot, materialize } from "../../src/sea.js";

describe("the single executable's extraction cache", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-cache-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a private file once, reuses it while the content matches, and replaces a tampered one", () => {
    const path = join(dir, "abc", "addon.node");
    materialize(path, "first");
    expect(readFileSync(path, "utf8")).toBe("first");
    expect(statSync(join(dir, "abc")).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = statSync(path).ino;

    materialize(path, "first");
    expect(statSync(path).ino).toBe(written); // same content: left alone

    writeFileSync(path, "tampered");
    materialize(path, "first");
    expect(readFileSync(path, "utf8")).toBe("first");
    expect(readdirSync(join(dir, "abc"))).toEqual(["addon.node"]); // no temporary file left behind
  });

  it("lives under VERIFYD_CACHE_DIR, else XDG_CACHE_HOME, else the home folder", () => {
    expect(cacheRoot({ VERIFYD_CACHE_DIR: "/srv/cache", XDG_CACHE_HOME: "/x" })).toBe("/srv/cache");
    expect(cacheRoot({ XDG_CACHE_HOME: "/x", HOME: "/home/v" })).toBe("/x/verifyd");
    expect(cacheRoot({ HOME: "/home/v" })).toBe("/home/v/.cache/verifyd");
  });
});
