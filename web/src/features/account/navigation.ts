/**
 * Where to go once signed in: the page that sent the person here (RequireSignIn passes its
 * path and query as `state.from`), never back to a sign-in or registration page, and only
 * within this site.
 */
export function returnPath(state: unknown): string {
  const from = (state as { from?: unknown } | null)?.from;
  let path = "/";
  if (typeof from === "string") path = from;
  else if (from && typeof from === "object") {
    const { pathname, search = "" } = from as { pathname?: unknown; search?: unknown };
    if (typeof pathname === "string") path = pathname + (typeof search === "string" ? search : "");
  }
  // "//host/..." and "/\host" are other sites to a browser: only plain same-site paths are followed.
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  if (/^\/(login|register)(\/|\?|#|$)/.test(path)) return "/";
  return path;
}
