// Isolate memory held by N cached API keys, measured inside workerd: bench/memory/worker.ts fills a
// TieredCache built from the key cache's own options, and V8's heap is read over the inspector
// (Chrome DevTools Protocol, `Runtime.getHeapUsage`) after a full GC, before and after the fill. The difference is
// what the entries keep alive: keys, slots, compiled records, strings.
import { Cdp, inspectorTarget } from "./profile.mjs";

/**
 * The isolate's used heap after a full GC. workerd's inspector does not answer
 * `HeapProfiler.collectGarbage`, but a heap snapshot collects garbage first; its chunks are
 * counted and dropped.
 */
async function heapAfterGc(cdp) {
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return { usedSize };
}

async function post(base, path) {
  const response = await fetch(new URL(path, base), { method: "POST", signal: AbortSignal.timeout(300_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`memory worker ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * @param {import("miniflare").Miniflare} mf - the memory Worker's instance (started with an inspector)
 * @param {URL} base - its URL
 * @param {number[]} sizes - key counts to measure, each from an empty cache
 */
export async function measureCacheMemory(mf, base, sizes) {
  const cdp = await Cdp.connect(await inspectorTarget(mf, "bench-memory"));
  try {
    await cdp.send("HeapProfiler.enable");
    await cdp.send("Runtime.enable");
    const results = [];
    let keyCacheMaxEntries = null;
    for (const keys of sizes) {
      await post(base, "/clear");
      const before = await heapAfterGc(cdp);
      const started = performance.now();
      ({ keyCacheMaxEntries } = await post(base, `/fill?n=${keys}`));
      const fillMs = Math.round(performance.now() - started);
      const after = await heapAfterGc(cdp);
      const bytes = after.usedSize - before.usedSize;
      results.push({ keys, heapBeforeBytes: before.usedSize, heapAfterBytes: after.usedSize, bytes, bytesPerKey: Math.round(bytes / keys), mb: Math.round((bytes / 2 ** 20) * 10) / 10, fillMs });
    }
    await post(base, "/clear");
    return { sizes: results, keyCacheMaxEntries };
  } finally {
    cdp.close();
  }
}
