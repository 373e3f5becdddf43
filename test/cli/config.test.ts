/**
 * The credentials file: where it lives, and that it is written with mode 0600 in a 0700 dir.
 */
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configDir, credentialsPath, deleteCredentials, loadCredentials, saveCredentials } from "../../bin/lib/config.mjs";
import { tempDir } from "./helpers";

const posix = process.platform !== "win32";

describe("configDir", () => {
  it("prefers KEYGATE_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(configDir({ KEYGATE_CONFIG_DIR: "/tmp/k", XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux")).toBe("/tmp/k");
    expect(configDir({ XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux")).toBe(join("/x", "keygate"));
    expect(configDir({ HOME: "/h" }, "linux")).toBe(join("/h", ".config", "keygate"));
    expect(configDir({ HOME: "/h" }, "darwin")).toBe(join("/h", ".config", "keygate"));
  });

  it("uses %APPDATA% on Windows", () => {
    expect(configDir({ APPDATA: "C:\\Users\\a\\AppData\\Roaming", HOME: "/h" }, "win32")).toBe(join("C:\\Users\\a\\AppData\\Roaming", "keygate"));
  });
});

describe("credentials.json", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let env: Record<string, string>;
  beforeEach(async () => {
    dir = await tempDir();
    env = { KEYGATE_CONFIG_DIR: join(dir.path, "nested", "keygate") };
  });
  afterEach(() => dir.cleanup());

  const credentials = { url: "http://127.0.0.1:1", access_token: "kgo_at_x", refresh_token: "kgo_rt_y", expires_at: "2030-01-01T00:00:00.000Z" };

  it.runIf(posix)("is written with mode 0600 in a directory of mode 0700", async () => {
    const path = await saveCredentials(credentials, env);
    expect(path).toBe(credentialsPath(env));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(env.KEYGATE_CONFIG_DIR)).mode & 0o777).toBe(0o700);
    expect(await loadCredentials(env)).toEqual(credentials);
  });

  it.runIf(posix)("is made 0600 again when an existing file was readable by others", async () => {
    const path = await saveCredentials(credentials, env);
    await chmod(path, 0o644);
    await chmod(env.KEYGATE_CONFIG_DIR, 0o755);
    await saveCredentials({ ...credentials, access_token: "kgo_at_z" }, env);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(env.KEYGATE_CONFIG_DIR)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(path, "utf8")).access_token).toBe("kgo_at_z");
  });

  it("loads as null when absent, and is deleted by deleteCredentials", async () => {
    expect(await loadCredentials(env)).toBeNull();
    expect(await deleteCredentials(env)).toBe(false);
    await saveCredentials(credentials, env);
    expect(await deleteCredentials(env)).toBe(true);
    expect(await loadCredentials(env)).toBeNull();
  });

  it("a corrupt file is a clear error", async () => {
    await saveCredentials(credentials, env);
    await writeFile(credentialsPath(env), "{not json");
    await expect(loadCredentials(env)).rejects.toThrow(/not valid JSON; delete it and run keygate login/);
  });
});
