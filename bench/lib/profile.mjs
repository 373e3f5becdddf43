// `--profile`: V8's sampling CPU profiler on the Keygate isolate, over the inspector (Chrome
// DevTools Protocol), while one scenario runs. Writes .cpuprofile files (open them in Chrome
// DevTools or speedscope) and a table of where the isolate's time goes, by function and by source
// module (wrangler's bundle marks each module with a `// src/...` comment).
import { readFileSync } from "node:fs";

/** The inspector WebSocket URL of the named Worker. */
export async function inspectorTarget(mf, workerName) {
  const base = await mf.getInspectorURL();
  const listUrl = new URL("/json/list", base.href.replace(/^ws/, "http"));
  const targets = await (await fetch(listUrl, { signal: AbortSignal.timeout(10_000) })).json();
  const target = targets.find((t) => `${t.id} ${t.title} ${t.url} ${t.webSocketDebuggerUrl}`.includes(workerName)) ?? targets[0];
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target for ${workerName}: ${JSON.stringify(targets)}`);
  return target.webSocketDebuggerUrl;
}

export class Cdp {
  #ws;
  #next = 1;
  #pending = new Map();

  static async connect(url) {
    const cdp = new Cdp();
    cdp.#ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      cdp.#ws.addEventListener("open", resolve, { once: true });
      cdp.#ws.addEventListener("error", () => reject(new Error(`inspector connection to ${url} failed`)), { once: true });
    });
    cdp.#ws.addEventListener("message", (event) => {
      const text = String(event.data);
      // Heap snapshot chunks (bench/lib/memory.mjs only wants the GC a snapshot forces).
      if (text.startsWith('{"method":"HeapProfiler.addHeapSnapshotChunk"')) return;
      const message = JSON.parse(text);
      const pending = cdp.#pending.get(message.id);
      if (!pending) return;
      cdp.#pending.delete(message.id);
      if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending.resolve(message.result);
    });
    return cdp;
  }

  send(method, params = {}) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer from the inspector`));
      }, 60_000);
      this.#pending.set(id, {
        method,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close() {
    this.#ws.close();
  }
}

/** Runs `during()` with the CPU profiler on; returns the profile. */
export async function profileDuring(wsUrl, during, samplingIntervalUs = 200) {
  const cdp = await Cdp.connect(wsUrl);
  try {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
    await cdp.send("Profiler.start");
    const result = await during();
    const { profile } = await cdp.send("Profiler.stop");
    await cdp.send("Profiler.disable");
    return { profile, result };
  } finally {
    cdp.close();
  }
}

/** Maps bundle line numbers (0-based) to the module wrangler's bundle says they come from. */
function moduleIndex(bundlePath) {
  const starts = [];
  readFileSync(bundlePath, "utf8")
    .split("\n")
    .forEach((line, i) => {
      // esbuild starts each module with `// <path relative to the build root>`.
      const m = /^\/\/ ((?:\.\.\/)*[\w@.\-/]+\.(?:[cm]?[jt]sx?|json))$/.exec(line);
      if (m) starts.push([i, m[1].replace(/^(?:\.\.\/)+/, "").replace(/^.*node_modules\//, "")]);
    });
  return (line) => {
    let found = "(bundle helpers)";
    for (const [start, name] of starts) {
      if (start > line) break;
      found = name;
    }
    return found;
  };
}

/**
 * The profile with every sample counted as one sampling interval. The sampler takes no samples
 * while the isolate's thread waits (idle, or descheduled on a busy machine), and the first sample
 * after a wait carries the whole wait as its time delta, charging it to whatever ran first (on
 * this machine the deltas' median is ~200–300 µs, their p99 several ms). Clamped to the median
 * interval, each sample counts for the work it saw.
 */
function withoutGaps(profile) {
  const sorted = [...profile.timeDeltas].sort((a, b) => a - b);
  const interval = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return { ...profile, timeDeltas: profile.timeDeltas.map((delta) => Math.min(delta, interval)) };
}

const SPECIAL = new Set(["(program)", "(idle)", "(garbage collector)", "(root)"]);

/**
 * Self and inclusive time per function and self time per module, as shares of the busy time
 * (all samples except idle).
 */
export function summarizeProfile(rawProfile, bundlePath) {
  const profile = withoutGaps(rawProfile);
  const moduleOf = moduleIndex(bundlePath);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const label = (n) => {
    const f = n.callFrame;
    const name = f.functionName || "(anonymous)";
    if (SPECIAL.has(name)) return { key: name, module: name };
    const isBundle = f.url && bundlePath.endsWith(f.url.replace(/^file:\/\//, "").split("/").slice(-2).join("/"));
    const module = f.url === "" ? "(native)" : isBundle || f.url.endsWith("index.js") ? moduleOf(f.lineNumber) : f.url;
    return { key: `${name} (${module})`, module };
  };

  let busy = 0;
  const self = new Map();
  const inclusive = new Map();
  const byModule = new Map();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    const { key, module } = label(node);
    if (key === "(idle)") continue;
    busy += us;
    self.set(key, (self.get(key) ?? 0) + us);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    // Inclusive: charge every distinct function on the stack once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(nodes.get(cur)).key;
      if (seen.has(k) || k === "(root)") continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const top = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, share: busy ? Math.round((us / busy) * 1000) / 10 : 0 }));
  return { busyMs: Math.round(busy / 1000), self: top(self, 25), inclusive: top(inclusive, 30), modules: top(byModule, 20) };
}
