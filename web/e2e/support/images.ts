/**
 * Test pictures, made when a test needs them rather than committed: PNG bytes encoded by the
 * browser under test (a canvas), so they are real images the services decode and re-encode.
 */
import type { Page } from "@playwright/test";

/**
 * A `width` x `height` PNG with a diagonal colour gradient (something for a re-encoder to keep or
 * crop), drawn in `page` (any page of the app: a canvas needs no network, so the CSP allows it).
 */
export async function pngImage(page: Page, width: number, height: number): Promise<Buffer> {
  const base64 = await page.evaluate(
    ([w, h]) => {
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const context = canvas.getContext("2d");
      if (!context) throw new Error("no 2D canvas in this browser");
      const gradient = context.createLinearGradient(0, 0, w, h);
      gradient.addColorStop(0, "#1d4ed8");
      gradient.addColorStop(1, "#f59e0b");
      context.fillStyle = gradient;
      context.fillRect(0, 0, w, h);
      return canvas.toDataURL("image/png").slice("data:image/png;base64,".length);
    },
    [width, height] as const,
  );
  const bytes = Buffer.from(base64, "base64");
  if (bytes.subarray(1, 4).toString("latin1") !== "PNG") throw new Error("the canvas did not give a PNG");
  return bytes;
}

/** The smallest real PNG (1x1, transparent), for uploads judged by content but never shown. */
export const ONE_PIXEL_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);
