/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `base: "./"` keeps asset paths relative, so one bundle works under `/studio/` on the server and
// from the desktop app's custom protocol (see /work/notes/studio-contract.md).
// STATEGRAPH_API (dev only) proxies the server routes so `npm run dev` talks to a running server.
const api = process.env.STATEGRAPH_API;
const proxied = ["/stategraph", "/assistants", "/threads", "/runs", "/ok", "/info"];

export default defineConfig({
  base: "./",
  plugins: [react()],
  server: {
    port: 1420,
    strictPort: true,
    proxy: api ? Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: true }])) : undefined,
  },
  preview: {
    proxy: api ? Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: true }])) : undefined,
  },
  build: { outDir: "dist", chunkSizeWarningLimit: 2500 },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
