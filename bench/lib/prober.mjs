// The health probes of the overload bench, in a process of their own, as an orchestrator's are: a
// probe sent from the load generator's process would wait behind the generator's own event loop,
// which at 10 000 requests/s is late by tens of milliseconds, and that wait is not the server's.
//
// `startProber([{ port, path, everyMs, fresh }, …])` forks this file; `stop()` resolves to one result
// per probe, in the same order (see `probe` in open-loop.mjs).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { probe } from "./open-loop.mjs";

export function startProber(probes) {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(probes)], { stdio: "inherit" });
  const started = new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("error", reject);
  });
  return {
    started,
    stop: async () => {
      await started;
      const results = new Promise((resolve) => child.once("message", resolve));
      child.send("stop");
      const answer = await results;
      child.disconnect();
      return answer;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stops = JSON.parse(process.argv[2]).map((options) => probe(options));
  process.send("started");
  process.on("message", async () => {
    process.send(await Promise.all(stops.map((stop) => stop())));
  });
}
