/**
 * Argument parsing and help: every command has --help listing its flags and an example; unknown
 * commands and flags are usage errors (exit 2).
 */
import { describe, expect, it } from "vitest";
import { COMMANDS, commandHelp, parseCommandLine, splitScopes } from "../../bin/lib/args.mjs";
import { runCli } from "./helpers";

describe("keygate --help", () => {
  it("lists every command and the global flags", async () => {
    const { code, stdout } = await runCli(["--help"], {});
    expect(code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(stdout).toContain(`  ${name}`);
    for (const flag of ["--url", "--json", "--help"]) expect(stdout).toContain(flag);
    expect(stdout).toContain("KEYGATE_ADMIN_TOKEN");
  });

  it("no arguments prints the same help", async () => {
    expect((await runCli([], {})).stdout).toContain("Usage: keygate <command>");
  });

  it.each(Object.keys(COMMANDS))("keygate %s --help lists its flags and an example", async (name) => {
    const { code, stdout } = await runCli([...name.split(" "), "--help"], {});
    expect(code).toBe(0);
    expect(stdout).toBe(commandHelp(name));
    expect(stdout).toContain(`Usage: keygate ${name}`);
    for (const [flag, option] of Object.entries(COMMANDS[name].options as Record<string, { hidden?: boolean }>)) {
      if (option.hidden) expect(stdout).not.toContain(`--${flag}`);
      else expect(stdout).toContain(`--${flag}`);
    }
    expect(stdout).toMatch(/Example:\n  keygate /);
  });

  it("-h works after other flags, and `keys --help` shows the group", async () => {
    expect((await runCli(["keys", "list", "--all", "-h"], {})).stdout).toBe(commandHelp("keys list"));
    const group = await runCli(["keys", "--help"], {});
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("keys rotate");
  });
});

describe("parseCommandLine", () => {
  it("parses a command's flags, repeatable ones as arrays", () => {
    const parsed = parseCommandLine(["keys", "create", "--name", "ci", "--scopes", "a:b c:d", "--ip", "10.0.0.0/8", "--ip", "192.0.2.1", "--json"]);
    expect(parsed).toEqual({
      command: "keys create",
      values: { name: "ci", scopes: "a:b c:d", ip: ["10.0.0.0/8", "192.0.2.1"], json: true },
      positionals: [],
    });
  });

  it("takes a key id as the positional of rotate and revoke", () => {
    expect(parseCommandLine(["keys", "rotate", "key_1", "--grace", "60"])).toMatchObject({ command: "keys rotate", positionals: ["key_1"], values: { grace: "60" } });
    expect(parseCommandLine(["keys", "revoke", "--url", "http://x", "key_2"])).toMatchObject({ positionals: ["key_2"], values: { url: "http://x" } });
  });

  it.each([
    [["nope"], /unknown command "nope"/],
    [["keys"], /needs a command/],
    [["keys", "burn"], /unknown command "keygate keys burn"/],
    [["keys", "create", "--bogus"], /Unknown option '--bogus'/],
    [["keys", "rotate"], /needs <key_id>/],
    [["whoami", "extra"], /unexpected argument "extra"/],
    [["login", "--url"], /argument missing/],
  ])("%j is a usage error", async (argv, message) => {
    const { code, stderr, stdout } = await runCli(argv, {});
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
  });

  it("accepts global flags before the command", () => {
    expect(parseCommandLine(["--url", "http://x", "--json", "keys", "list", "--all"])).toEqual({
      command: "keys list",
      values: { url: "http://x", json: true, all: true },
      positionals: [],
    });
    expect(parseCommandLine(["--url=http://x", "keys", "revoke", "key_1"])).toMatchObject({ positionals: ["key_1"], values: { url: "http://x" } });
    expect(parseCommandLine(["-h", "whoami"])).toEqual({ help: commandHelp("whoami") });
  });

  it("splits scopes on spaces and commas", () => {
    expect(splitScopes(" content:read,stories:read  stories:publish ")).toEqual(["content:read", "stories:read", "stories:publish"]);
  });

  it("rejects malformed numbers and URLs before any request", async () => {
    const env = { KEYGATE_ADMIN_TOKEN: "t" };
    expect(await runCli(["keys", "list", "--limit", "0"], { env })).toMatchObject({ code: 2, stderr: expect.stringContaining("--limit must be an integer from 1 to 1000") });
    expect(await runCli(["keys", "list", "--url", "ftp://x"], { env })).toMatchObject({ code: 2, stderr: expect.stringContaining("--url must be http(s)") });
  });
});
