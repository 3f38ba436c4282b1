/**
 * The BeYou API from Node, for the browser tests' fixtures (making users, signing them in, setting
 * up what a test needs) — the same public API the app uses, through the same gateway.
 *
 * Each client connects from a loopback SOURCE address of its own (127.x.y.z), as separate devices
 * would: the gateway allows 20 requests a minute per address on login, register and challenge, so
 * users made from one address would soon be refused. (servicekit/testing/gateway.py does the same
 * for the Python suites.) Only a gateway on an IPv4 loopback address can be reached that way; for
 * any other host the client connects from wherever the system chooses.
 *
 * Every error answer is problem+json: it is thrown as a `ProblemError` whose message carries the
 * request, the status and the problem's title and detail, so a failed fixture says what went wrong.
 */
import http from "node:http";
import https from "node:https";
import { isIPv4 } from "node:net";

/** The gateway (and the app) under test: BEYOU_WEB_URL, else the native stack's. */
export function webUrl(): string {
  return (process.env.BEYOU_WEB_URL ?? "http://localhost:8080").replace(/\/+$/, "");
}

export class ProblemError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly problem: Record<string, unknown>,
  ) {
    const title = typeof problem.title === "string" ? problem.title : `HTTP ${status}`;
    const detail = typeof problem.detail === "string" ? `: ${problem.detail}` : "";
    const fields = problem.errors ? ` ${JSON.stringify(problem.errors)}` : "";
    super(`${method} ${path} answered ${status} ${title}${detail}${fields}`);
    this.name = "ProblemError";
  }

  get type(): string | undefined {
    return typeof this.problem.type === "string" ? this.problem.type : undefined;
  }
}

export interface ApiAnswer<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (undefined when there is none). */
  body: T;
}

export interface RequestOptions {
  json?: unknown;
  /** A multipart/form-data body: strings, or files as {filename, contentType, data}. */
  form?: Record<string, string | FilePart>;
  headers?: Record<string, string>;
  /** Bearer token; default: the client's own (`client.token`). null: send none. */
  token?: string | null;
}

export interface FilePart {
  filename: string;
  contentType: string;
  data: Buffer;
}

const REQUEST_TIMEOUT_MS = 30_000;

// A fresh /16 inside 127/8 per process, so a rerun (or another worker) starts with addresses whose
// rate-limit budget is untouched; .0 and .1 of it are skipped (127.0.0.1 is the browser's own).
const loopbackBase = (Math.floor(16 + Math.random() * 234) << 16) >>> 0;
let loopbackNext = 2;

/** A loopback address no other client of this process has used. */
export function nextSourceAddress(): string {
  const n = (0x7f000000 + loopbackBase + loopbackNext++) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export class ApiClient {
  readonly baseUrl: URL;
  /** The source address it connects from (undefined: the system's choice). */
  readonly sourceAddress?: string;
  /** The access token sent as the bearer, once signed in. */
  token: string | null = null;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(baseUrl: string = webUrl(), sourceAddress: string | null = nextSourceAddress()) {
    this.baseUrl = new URL(baseUrl);
    const host = connectHost(this.baseUrl.hostname);
    this.sourceAddress = sourceAddress && isIPv4(host) && host.startsWith("127.") ? sourceAddress : undefined;
    this.transport = this.baseUrl.protocol === "https:" ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** The answer, whatever its status. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { Accept: "application/json, application/problem+json", ...options.headers };
    let body: Buffer | undefined;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json));
      headers["Content-Type"] = "application/json";
    } else if (options.form) {
      const boundary = `beyou-e2e-${Math.random().toString(16).slice(2)}`;
      body = multipart(options.form, boundary);
      headers["Content-Type"] = `multipart/form-data; boundary=${boundary}`;
    }
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers["Content-Length"] = String(body.length);
    // The Host the browser would send (localhost:8080), whichever address is connected to.
    headers.Host = this.baseUrl.host;

    return new Promise((resolve, reject) => {
      const request = this.transport.request(
        {
          host: connectHost(this.baseUrl.hostname),
          port: this.baseUrl.port || (this.transport === https ? 443 : 80),
          servername: this.transport === https ? this.baseUrl.hostname : undefined,
          localAddress: this.sourceAddress,
          method,
          path,
          headers,
          agent: this.agent,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = undefined;
            if (text && /json/.test(String(response.headers["content-type"]))) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = { title: "Unparsable JSON answer", detail: text.slice(0, 200) };
              }
            } else if (text) {
              parsed = { title: "Not a JSON answer", detail: text.slice(0, 200) };
            }
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed as T });
          });
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      request.on("error", (error) =>
        reject(new Error(`${method} ${path} via ${this.baseUrl.origin} from ${this.sourceAddress ?? "any address"}: ${error.message}`)),
      );
      request.end(body);
    });
  }

  /** The parsed answer of a request that must succeed (2xx); a `ProblemError` otherwise. */
  async call<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.request<T>(method, path, options);
    if (answer.status >= 400 || answer.status < 200) {
      const problem = answer.body && typeof answer.body === "object" ? (answer.body as Record<string, unknown>) : {};
      throw new ProblemError(method, path, answer.status, problem);
    }
    return answer.body;
  }

  get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.call<T>("GET", path, options);
  }

  post<T = unknown>(path: string, json?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.call<T>("POST", path, { ...options, json: json ?? options.json });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** "localhost" is connected to as 127.0.0.1: a 127.x source address cannot reach ::1. */
function connectHost(hostname: string): string {
  return hostname === "localhost" ? "127.0.0.1" : hostname.replace(/^\[|\]$/g, "");
}

function multipart(fields: Record<string, string | FilePart>, boundary: string): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    } else {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\n` +
            `Content-Type: ${value.contentType}\r\n\r\n`,
        ),
        value.data,
        Buffer.from("\r\n"),
      );
    }
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}
