import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { embeddedDocsAsset, isSingleExecutable } from "../sea.js";

/**
 * The Swagger UI files the API docs page (`/docs`) loads, served by verifyd itself from the pinned
 * `swagger-ui-dist` package (inside the single executable, from its assets): verifyd often runs
 * where no CDN is reachable, and the page must work there.
 */
export const DOCS_ASSETS = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
} as const;

export type DocsAssetName = keyof typeof DOCS_ASSETS;

/** Where the page finds them: `<DOCS_ASSETS_PATH>/swagger-ui-dist/<file>` (the layout @hono/swagger-ui asks for). */
export const DOCS_ASSETS_PATH = "/docs/assets";

export const isDocsAsset = (name: string): name is DocsAssetName => Object.hasOwn(DOCS_ASSETS, name);

const loaded = new Map<DocsAssetName, Uint8Array<ArrayBuffer>>();

/** The file's bytes, read on first use and kept (about 2 MB in all; nothing is read until /docs is opened). */
export function docsAsset(name: DocsAssetName): Uint8Array<ArrayBuffer> {
  let bytes = loaded.get(name);
  if (!bytes) {
    bytes = isSingleExecutable()
      ? embeddedDocsAsset(name)
      : new Uint8Array(readFileSync(createRequire(import.meta.url).resolve(`swagger-ui-dist/${name}`)));
    loaded.set(name, bytes);
  }
  return bytes;
}
