// Checks a running verifyd's API docs page: /docs references only same-origin files, and each is
// served 200 with its content type (the page must work with no internet access). Used by the
// single-executable smoke test and the image rehearsal, whose copies of the files are packed differently.
const CONTENT_TYPES = { js: /^text\/javascript\b/, css: /^text\/css\b/ };

/** Throws with what is wrong; answers the number of files the page loads. */
export async function checkDocsPage(base) {
  const page = await fetch(`${base}/docs`);
  if (page.status !== 200) throw new Error(`GET /docs answered ${page.status}`);
  const html = await page.text();
  const references = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
  if (references.length === 0) throw new Error("/docs references no script or style");
  for (const url of references) {
    if (!/^\/(?!\/)/.test(url)) throw new Error(`/docs references ${url}, not a same-origin path`);
    const res = await fetch(`${base}${url}`);
    const type = res.headers.get("content-type") ?? "";
    const expected = CONTENT_TYPES[url.split(".").at(-1)];
    const size = (await res.arrayBuffer()).byteLength;
    if (res.status !== 200 || !expected?.test(type) || size === 0) {
      throw new Error(`GET ${url} answered ${res.status} ${type} (${size} bytes)`);
    }
  }
  return references.length;
}
