import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_MIGRATIONS: D1Migration[];
      AUDIT_DB_SPLIT: D1Database;
      /** The origin Worker of test/fixtures/origin-worker.mjs. */
      TEST_ORIGIN_SERVICE: Fetcher;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
