// Builds dist/ when it is missing or older than any file under src/ (so `npm start` works on a fresh clone).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    const time = entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    return Math.max(latest, time);
  }, 0);

const target = "dist/cli.js";
const stale = !existsSync(target) || statSync(target).mtimeMs < Math.max(newest("src"), statSync("tsconfig.build.json").mtimeMs);
if (stale) {
  process.stdout.write("building dist/ …\n");
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  execFileSync(process.execPath, ["scripts/bundle-server.mjs"], { stdio: "inherit" }); // as `npm run build`
}
