/** A short, readable name for a session's device, from the User-Agent it signed in with. */
export function describeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return "Unknown device";
  const ua = userAgent;
  if (/^python-requests|^python-httpx|beyou-cli|^BeYou-CLI/i.test(ua)) return "BeYou command-line client";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\//.test(ua)
      ? "Opera"
      : /(Chrome|Chromium)\//.test(ua)
        ? /HeadlessChrome/.test(ua) ? "Chromium (headless)" : "Chrome"
        : /Firefox\//.test(ua)
          ? "Firefox"
          : /Safari\//.test(ua)
            ? "Safari"
            : null;
  const system = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iPod/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /Linux|X11/.test(ua)
            ? "Linux"
            : null;
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  // Anything else (curl, a script): its product token is the most telling part.
  return ua.split(/[\s/]/)[0] || "Unknown device";
}
