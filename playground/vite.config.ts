import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// `npm start` serves the built app from the demo server (one port for the app and its streams).
// `npm run dev` runs Vite with hot reload and forwards the API, streams and WebSocket to a demo
// server started separately on port 3000 (`PORT=3000 npm start -w @sluice/playground`).
const demoServer = process.env.SLUICE_DEMO_SERVER ?? 'http://127.0.0.1:3000'

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 400 },
  server: { proxy: { '/api': { target: demoServer, ws: true } } },
})
