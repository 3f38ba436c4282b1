/**
 * The `beyou` command-line client, driven from a spec as a person at a terminal would: each
 * `CliUser` has a state directory of its own (BEYOU_HOME: session, key file, pinned contacts) in a
 * temporary folder, talks to the gateway under test (BEYOU_SERVER) and reads its password and key
 * passphrase from the environment (BEYOU_PASSWORD, BEYOU_PASSPHRASE), as the README's scripting
 * section says.
 *
 * The CLI has no option to choose its source address: its registration and sign-in count against
 * the loopback address the system picks (127.0.0.1, the browser's), so a spec makes one CLI user
 * and signs it in once.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { webUrl } from "./api";

const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The CLI under test: BEYOU_CLI, else the project's virtualenv (`make install`). */
export function cliPath(): string {
  return process.env.BEYOU_CLI ?? path.join(CHECKOUT, ".venv/bin/beyou");
}

/**
 * The gateway as the CLI should reach it. "localhost" becomes 127.0.0.1: the gateway listens on
 * IPv4 only, and Python would try ::1 first.
 */
function cliServer(): string {
  const url = new URL(webUrl());
  if (url.hostname === "localhost") url.hostname = "127.0.0.1";
  return url.origin;
}

/** A failed `beyou` run: the command, its exit code and what it printed, to say what went wrong. */
export class CliError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`beyou ${args.join(" ")} exited with ${code}\n--- stderr ---\n${stderr.trim()}\n--- stdout ---\n${stdout.trim()}`);
    this.name = "CliError";
  }
}

export interface CliRun {
  stdout: string;
  stderr: string;
}

/** Argon2id with 64 MiB and a proof of work on a loaded two-core machine: a minute is not too long. */
const DEFAULT_TIMEOUT_MS = 120_000;

export class CliUser {
  readonly username: string;
  readonly email: string;
  readonly phone: string;
  readonly password: string;
  readonly passphrase: string;
  /** This user's BEYOU_HOME (removed by `dispose()`). */
  readonly home: string;
  /** Set by `register()`. */
  id = "";

  constructor(name = "cli") {
    const prefix = name.toLowerCase().replace(/[^a-z0-9_.]/g, "").slice(0, 20) || "cli";
    this.username = `${prefix}_${randomBytes(5).toString("hex")}`;
    this.email = `${this.username}@e2e.test`;
    this.phone = `+4420${String(randomInt(10 ** 8)).padStart(8, "0")}`;
    // Long and random: never one of the common passwords auth refuses.
    this.password = `E2e-${randomBytes(12).toString("base64url")}`;
    this.passphrase = `cli passphrase ${randomBytes(6).toString("hex")}`;
    this.home = mkdtempSync(path.join(tmpdir(), "beyou-e2e-cli-"));
  }

  /**
   * Run `beyou ARGS` for this user; resolves with its output when it exits 0, rejects with a
   * `CliError` (exit code, stderr, stdout) otherwise or when it runs longer than `timeoutMs`.
   */
  run(args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CliRun> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BEYOU_HOME: this.home,
      BEYOU_SERVER: cliServer(),
      BEYOU_PASSWORD: this.password,
      BEYOU_PASSPHRASE: this.passphrase,
      // Plain text, no colours or terminal width games: the output is read by the test.
      NO_COLOR: "1",
      TERM: "dumb",
      COLUMNS: "200",
    };
    return new Promise((resolve, reject) => {
      execFile(cliPath(), args, { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error) {
          const code = error.killed ? `a kill after ${timeoutMs} ms (timed out)` : (error.code ?? null);
          reject(new CliError(args, code, stdout, stderr));
        } else {
          resolve({ stdout, stderr });
        }
      });
    });
  }

  /** `beyou --json ARGS`, its standard output parsed (stdout carries only the JSON document). */
  async json<T = unknown>(args: string[], timeoutMs?: number): Promise<T> {
    const { stdout, stderr } = await this.run(["--json", ...args], timeoutMs);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new CliError(["--json", ...args], 0, stdout, `${stderr}\n(standard output is not one JSON document)`);
    }
  }

  /** `beyou register` (the proof of work solved by the CLI), then `beyou login`. */
  async registerAndSignIn(): Promise<void> {
    const account = await this.json<{ id: string; username: string }>(["register", "--username", this.username, "--email", this.email, "--phone", this.phone]);
    this.id = account.id;
    const session = await this.json<{ user_id: string; username: string }>(["login", "--username", this.username]);
    if (session.user_id !== this.id) throw new Error(`beyou login signed in ${session.user_id}, not the account registered (${this.id})`);
  }

  /** Removes this user's state directory (its session, keys and contacts). */
  dispose(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
