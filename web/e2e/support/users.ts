/**
 * People for the browser tests, made the way a client and an operator would make them:
 * registered through the public API (the proof-of-work challenge solved here, in Node), with 2FA
 * turned on through the API, made staff with the operator's command, verified by a staff member
 * approving their identity document. Each user talks to the API from a loopback address of their
 * own (see api.ts), as a separate device would.
 */
import { execFile } from "node:child_process";
import { hash, randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, nextSourceAddress, webUrl } from "./api";
import { ONE_PIXEL_PNG } from "./images";
import { TotpDevice } from "./totp";

const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface NewUserOptions {
  /** A readable start of the username (screenshots, failures), e.g. "alice"; a unique suffix is added. */
  name?: string;
  /** Turn 2FA on: `totp` is then the authenticator, `recoveryCodes` the one-time codes. */
  twoFactor?: boolean;
  /** A staff account (made with `flask --app auth create-staff`, as an operator does). */
  staff?: boolean;
  /** Verified: an identity document submitted and approved by a staff member. */
  verified?: boolean;
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
  email: string;
  phone: string;
  roles: string[];
  verified: boolean;
  /** The loopback address this user's API calls come from (their "device"). */
  sourceAddress?: string;
  /** The base32 TOTP secret, when 2FA is on. */
  totpSecret?: string;
  /** Their authenticator app, when 2FA is on: `await user.totp.nextCode()`. */
  totp?: TotpDevice;
  recoveryCodes?: string[];
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  mfa_required?: boolean;
  mfa_token?: string;
}

/** A new account, registered through the gateway; see `NewUserOptions`. */
export async function newUser(options: NewUserOptions = {}): Promise<TestUser> {
  const details = accountDetails(options.name);
  const address = nextSourceAddress();
  const client = new ApiClient(webUrl(), address);
  try {
    if (options.staff) {
      await createStaff(details);
    } else {
      const challenge = await client.post<{ token: string; difficulty: number }>("/api/auth/challenge");
      await client.post("/api/auth/register", {
        ...details,
        challenge: { token: challenge.token, nonce: solveChallenge(challenge.token, challenge.difficulty) },
      });
    }
    const user: TestUser = { ...details, id: "", roles: [], verified: false, sourceAddress: client.sourceAddress };
    client.token = await apiSignIn(client, user);
    if (options.verified) await verify(client, user);
    if (options.twoFactor) await turnOnTwoFactor(client, user);
    const me = await client.get<{ id: string; roles: string[]; verified: boolean }>("/api/auth/me");
    Object.assign(user, { id: me.id, roles: me.roles, verified: me.verified });
    return user;
  } finally {
    client.close();
  }
}

/** A client of the API signed in as `user` (api mode: tokens in the answer), from the user's own address. */
export async function apiClientFor(user: TestUser): Promise<ApiClient> {
  const client = new ApiClient(webUrl(), user.sourceAddress ?? nextSourceAddress());
  client.token = await apiSignIn(client, user);
  return client;
}

/**
 * Sign in from `client`: the access token (api mode), or with `mode: "browser"` the whole answer,
 * whose Set-Cookie carries the refresh token (see browser.ts). Goes through the 2FA step when on.
 */
export async function signIn(client: ApiClient, user: TestUser, mode: "api" | "browser" = "api") {
  const credentials = { username: user.username, password: user.password, ...(mode === "browser" ? { mode } : {}) };
  let answer = await client.request<TokenAnswer>("POST", "/api/auth/login", { json: credentials, token: null });
  if (answer.status === 200 && answer.body.mfa_required) {
    if (!user.totp) throw new Error(`${user.username} has 2FA on, but the test has no authenticator for it`);
    answer = await client.request<TokenAnswer>("POST", "/api/auth/login/2fa", {
      json: { mfa_token: answer.body.mfa_token, code: await user.totp.nextCode(), ...(mode === "browser" ? { mode } : {}) },
      token: null,
    });
  }
  if (answer.status !== 200 || !answer.body.access_token) {
    throw new Error(`signing in ${user.username} (${mode} mode) answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer;
}

async function apiSignIn(client: ApiClient, user: TestUser): Promise<string> {
  return (await signIn(client, user)).body.access_token!;
}

// --- registration -------------------------------------------------------------------------

function accountDetails(name = "e2e") {
  const prefix = name.toLowerCase().replace(/[^a-z0-9_.]/g, "").slice(0, 20) || "e2e";
  const username = `${prefix}_${randomBytes(5).toString("hex")}`;
  return {
    username,
    email: `${username}@e2e.test`,
    phone: `+4420${String(randomInt(10 ** 8)).padStart(8, "0")}`,
    // Long and random: never one of the common passwords auth refuses.
    password: `E2e-${randomBytes(12).toString("base64url")}`,
  };
}

/**
 * auth's proof of work (client/beyou/proof_of_work.py): the first nonce such that
 * SHA-256("<token>:<nonce>") starts with `difficulty` zero bits.
 */
export function solveChallenge(token: string, difficulty: number): string {
  if (difficulty < 0 || difficulty > 256) throw new Error(`a difficulty of ${difficulty} bits cannot be solved`);
  // About 2**difficulty tries: the one-shot hash is the quickest way node:crypto offers.
  for (let nonce = 0; ; nonce++) {
    if (leadingZeroBits(hash("sha256", `${token}:${nonce}`, "buffer")) >= difficulty) return String(nonce);
  }
}

function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

// --- staff --------------------------------------------------------------------------------

/**
 * The operator's way (`flask --app auth create-staff`, password on stdin): on the native stack the
 * virtualenv's flask with auth's environment (.dev/env/auth.env, as servicekit.testing.config's
 * stack_env gives it); for another stack BEYOU_STAFF_COMMAND, how its operator runs the command
 * (e.g. "docker-compose exec -T auth flask --app auth create-staff"), the options appended.
 */
async function createStaff(details: { username: string; email: string; phone: string; password: string }) {
  const options = ["--username", details.username, "--email", details.email, "--phone", details.phone, "--password-stdin"];
  const custom = process.env.BEYOU_STAFF_COMMAND;
  const [file, args, env] = custom
    ? ["sh", ["-c", `${custom} "$@"`, "sh", ...options], process.env]
    : [path.join(CHECKOUT, ".venv/bin/flask"), ["--app", "auth", "create-staff", ...options], stackEnv("auth")];
  await new Promise<void>((resolve, reject) => {
    const child = execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`making staff ${details.username} failed (${custom ?? "flask --app auth create-staff"}): ${stderr || stdout || error.message}`));
      else resolve();
    });
    child.stdin?.end(`${details.password}\n`);
  });
}

/** The environment the native stack runs `service` with: this process's, its env file over it. */
function stackEnv(service: string): NodeJS.ProcessEnv {
  const file = path.join(CHECKOUT, ".dev/env", `${service}.env`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0 && !line.startsWith("#")) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

let approver: Promise<ApiClient> | null = null;

/** One staff member per test process approves every verification it needs. */
function staffApprover(): Promise<ApiClient> {
  approver ??= newUser({ name: "approver", staff: true }).then(apiClientFor);
  return approver;
}

// --- verification and 2FA -----------------------------------------------------------------


async function verify(client: ApiClient, user: TestUser): Promise<void> {
  const request = await client.call<{ id: string }>("POST", "/api/auth/verification", {
    form: { reason: "Browser test account", document: { filename: "id.png", contentType: "image/png", data: ONE_PIXEL_PNG } },
  });
  const staff = await staffApprover();
  await staff.post(`/api/auth/admin/verifications/${request.id}/approve`, { notes: `approved for ${user.username} by the browser tests` });
}

async function turnOnTwoFactor(client: ApiClient, user: TestUser): Promise<void> {
  const setup = await client.post<{ secret: string }>("/api/auth/2fa/setup", { password: user.password });
  user.totpSecret = setup.secret;
  user.totp = new TotpDevice(setup.secret);
  const confirmed = await client.post<{ recovery_codes: string[] }>("/api/auth/2fa/confirm", { code: await user.totp.nextCode() });
  user.recoveryCodes = confirmed.recovery_codes;
}
