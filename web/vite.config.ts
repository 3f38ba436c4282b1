// Vite builds the single-page app into dist/ (served by the gateway at /); Vitest runs the
// unit tests (src/**/*.test.ts) in Node, whose Web Crypto has the same API as the browser's.
// `npm run dev` serves the app on :5173 and passes /api to the native gateway (make dev).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    // No inline scripts or data: modules: the gateway's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  worker: { format: "es" },
  server: {
    proxy: { "/api": { target: process.env.BEYOU_GATEWAY ?? "http://127.0.0.1:8080", changeOrigin: false } },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
