// Where `keygate login` keeps its credentials: <config dir>/credentials.json, mode 0600, in a
// directory of mode 0700. The config dir is $KEYGATE_CONFIG_DIR, else $XDG_CONFIG_HOME/keygate or
// ~/.config/keygate (%APPDATA%\keygate on Windows).
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

export const CREDENTIALS_FILE = "credentials.json";

/** The config directory for `env` (process.env by default) and `platform`. */
export function configDir(env = process.env, platform = process.platform) {
  if (env.KEYGATE_CONFIG_DIR) return env.KEYGATE_CONFIG_DIR;
  if (platform === "win32" && env.APPDATA) return join(env.APPDATA, "keygate");
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "keygate");
  return join(env.HOME || homedir(), ".config", "keygate");
}

export function credentialsPath(env = process.env) {
  return join(configDir(env), CREDENTIALS_FILE);
}

/** The saved login, or null when there is none. A file that is not JSON is an error. */
export async function loadCredentials(env = process.env) {
  const path = credentialsPath(env);
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT") return null;
    throw error;
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && typeof value.access_token === "string" ? value : null;
  } catch {
    throw new Error(`${path} is not valid JSON; delete it and run keygate login again`);
  }
}

/**
 * Saves the login atomically (temp file, then rename) with mode 0600; the directory is created
 * with mode 0700. chmod runs after writing too, since `mode` only applies to new files.
 */
export async function saveCredentials(credentials, env = process.env) {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== "win32") await chmod(dir, 0o700).catch(() => {});
  const path = join(dir, CREDENTIALS_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}

/** Deletes the saved login; true when there was one. */
export async function deleteCredentials(env = process.env) {
  const path = credentialsPath(env);
  try {
    await rm(path);
    return true;
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT") return false;
    throw error;
  }
}
