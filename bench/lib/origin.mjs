// The bench's origin: a tiny node:http server on 127.0.0.1 answering every request with 200 and a
// small JSON body. Run as a child process (its own event loop, not the load generator's); it
// reports its port over IPC and exits when the parent goes away.
import { createServer } from "node:http";

const BODY = JSON.stringify({ origin: "bench", ok: true, items: [{ id: "story_1", title: "Hello" }, { id: "story_2", title: "World" }] });
const LENGTH = Buffer.byteLength(BODY);

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": LENGTH });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: server.address().port });
});

const stop = () => server.close(() => process.exit(0));
process.on("disconnect", stop);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Never outlive a bench run by much, whatever happens to the parent.
setTimeout(() => process.exit(0), Number(process.env.BENCH_ORIGIN_MAX_MS ?? 20 * 60_000)).unref();
