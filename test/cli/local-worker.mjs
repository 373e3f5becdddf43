// Runs the CLI (bin/keygate.mjs) as a child process; the Worker it talks to comes from
// test/helpers/local-worker.mjs. Plain JS: the repo's typecheck has no Node types.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../helpers/local-worker.mjs";

export { startLocalWorker } from "../helpers/local-worker.mjs";

/**
 * Runs bin/keygate.mjs as a child process. Returns { child, done, stdout() } where `done` resolves
 * { code, stdout, stderr }; `waitFor(re)` resolves the first stdout match.
 */
export function spawnCli(args, env) {
  const child = spawn(process.execPath, [join(ROOT, "bin", "keygate.mjs"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers = [];
  child.stdout.on("data", (d) => {
    stdout += d;
    for (const w of watchers) {
      const m = w.re.exec(stdout);
      if (m) w.resolve(m);
    }
  });
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  const waitFor = (re) =>
    new Promise((resolve, reject) => {
      const m = re.exec(stdout);
      if (m) return resolve(m);
      watchers.push({ re, resolve });
      done.then(() => reject(new Error(`keygate exited before printing ${re}:\nstdout: ${stdout}\nstderr: ${stderr}`)));
    });
  return { child, done, waitFor };
}
