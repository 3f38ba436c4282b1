/**
 * The one way the web client talks to the BeYou API (same origin, through the gateway).
 *
 * - The access token lives in this module's memory only: never in localStorage, sessionStorage,
 *   IndexedDB or a cookie a script can read. A reload loses it; `restoreSession()` gets a new one.
 * - The refresh token is auth's browser-mode cookie (HttpOnly, Secure, SameSite=Strict, path
 *   /api/auth/token): scripts never see it. Refreshing sends the CSRF header auth requires on
 *   every request that reads that cookie (`X-BeYou-CSRF: 1`: a custom header no cross-site
 *   form or simple request can carry). Refreshes are serialized across tabs with the Web Locks
 *   API, because a refresh token works once and a second tab reusing it would revoke the session.
 * - Every error answer is problem+json (RFC 9457): it is thrown as an `ApiError` whose message is
 *   what a person should read.
 */

export const CSRF_HEADER = "X-BeYou-CSRF";

/** A problem+json answer, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail?: string;
  /** Field errors of a 422 (marshmallow's shape: {location: {field: [messages]}}), flattened to field → message. */
  readonly fields: Record<string, string>;
  readonly problem: Record<string, unknown>;
  /** Seconds to wait before retrying (a 429's or 503's Retry-After), when the answer said. */
  readonly retryAfter?: number;

  constructor(status: number, problem: Record<string, unknown>, retryAfter?: number) {
    const title = typeof problem.title === "string" ? problem.title : `HTTP ${status}`;
    const detail = typeof problem.detail === "string" ? problem.detail : undefined;
    super(detail ?? title);
    this.name = "ApiError";
    this.status = status;
    this.type = typeof problem.type === "string" ? problem.type : "about:blank";
    this.title = title;
    this.detail = detail;
    this.problem = problem;
    this.fields = flattenFieldErrors(problem.errors);
    this.retryAfter = retryAfter;
  }
}

function flattenFieldErrors(errors: unknown, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  if (!errors || typeof errors !== "object") return out;
  for (const [key, value] of Object.entries(errors as Record<string, unknown>)) {
    // marshmallow nests by location ("json", "query", "form", "files") then field.
    const name = ["json", "query", "form", "files", "headers", "path"].includes(key) && !prefix ? "" : key;
    const path = [prefix, name].filter(Boolean).join(".");
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) out[path] = value.join(" ");
    else Object.assign(out, flattenFieldErrors(value, path));
  }
  return out;
}

let accessToken: string | null = null;
const listeners = new Set<(token: string | null) => void>();

export function getAccessToken(): string | null {
  return accessToken;
}

export function setAccessToken(token: string | null): void {
  accessToken = token;
  for (const listener of listeners) listener(token);
}

/** Called whenever the access token changes (signed in, refreshed, signed out or expired). */
export function onAccessToken(listener: (token: string | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface RequestOptions {
  method?: string;
  /** A JSON body. */
  json?: unknown;
  /** A multipart body (uploads). */
  form?: FormData;
  /** Query parameters; undefined, null and "" are left out, arrays repeat the name. */
  query?: Record<string, string | number | boolean | null | undefined | Array<string | number>>;
  headers?: Record<string, string>;
  /** Send the bearer token (default true when there is one). */
  auth?: boolean;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json, application/problem+json", ...options.headers };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  if (token && options.auth !== false) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(withQuery(path, options.query), {
      method: options.method ?? (body ? "POST" : "GET"),
      headers,
      body,
      credentials: "same-origin",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, { title: "Network error", detail: "The server could not be reached. Check your connection and try again." });
  }
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = await response.json();
    if (parsed && typeof parsed === "object") problem = parsed as Record<string, unknown>;
  } catch {
    problem = {};
  }
  if (!problem.title) problem.title = response.statusText || `HTTP ${response.status}`;
  const retryAfter = response.headers.get("Retry-After");
  return new ApiError(response.status, problem, retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined);
}

/** The raw response of an authenticated request (refreshing once on a 401), for blobs and streams. */
export async function apiResponse(path: string, options: RequestOptions = {}): Promise<Response> {
  const token = accessToken;
  let response = await send(path, options, token);
  if (response.status === 401 && token && options.auth !== false) {
    if (await refreshSession(token)) response = await send(path, options, accessToken);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** A JSON request; resolves to the parsed answer (undefined for 204). */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiResponse(path, options);
  if (response.status === 204 || response.headers.get("Content-Length") === "0") return undefined as T;
  return (await response.json()) as T;
}

/** An image or attachment the API serves behind the bearer token, as an object URL (revoke it when done). */
export async function apiObjectUrl(path: string, signal?: AbortSignal): Promise<string> {
  const response = await apiResponse(path, { signal });
  return URL.createObjectURL(await response.blob());
}

let refreshing: Promise<boolean> | null = null;

/**
 * Trade the refresh cookie for a new access token. `staleToken` is the token that was refused:
 * when another caller already replaced it, nothing is sent. Resolves false when there is no
 * session to restore (no cookie, expired, revoked), and clears the token then.
 */
export function refreshSession(staleToken: string | null = accessToken): Promise<boolean> {
  if (accessToken && accessToken !== staleToken) return Promise.resolve(true);
  if (!refreshing) {
    refreshing = withRefreshLock(async () => {
      try {
        const response = await fetch("/api/auth/token/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", [CSRF_HEADER]: "1" },
          body: "{}",
          credentials: "same-origin",
        });
        if (!response.ok) {
          setAccessToken(null);
          return false;
        }
        const tokens = (await response.json()) as { access_token: string };
        setAccessToken(tokens.access_token);
        return true;
      } catch {
        return false;
      }
    }).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? locks.request("beyou-refresh", work) : work();
}

/** On page load: a new access token from the refresh cookie, if there is a session. */
export function restoreSession(): Promise<boolean> {
  return refreshSession(null);
}
