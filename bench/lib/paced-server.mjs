// Paced message source for react-renders, its own process: `node paced-server.mjs <rate> <seconds>`
// prints `PORT <n>`; every connection to `/sse` (SSE) or `/ws` (WebSocket, `ws`) receives
// `rate × seconds` messages `{"s":n}` at `rate` per second (sent in 10 ms batches, catching up on
// timer drift so the total and the pace hold), then an `end` message. Exits when stdin closes.

import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const rate = Number(process.argv[2])
const seconds = Number(process.argv[3])
const total = Math.round(rate * seconds)

/** Calls `send(n)` for n = 0..total-1 on schedule, then `end()`; returns a stop function. */
function pace(send, end) {
  const t0 = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
    while (sent < due) send(sent++)
    if (sent === total) {
      clearInterval(timer)
      end()
    }
  }, 10)
  return () => clearInterval(timer)
}

const server = createServer((req, res) => {
  if (!req.url?.startsWith('/sse')) return res.writeHead(404).end()
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.flushHeaders()
  const stop = pace(
    (n) => res.write(`id: ${n}\ndata: {"s":${n}}\n\n`),
    () => res.end('event: end\ndata: end\n\n'),
  )
  res.on('close', stop)
})
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (socket) => {
  const stop = pace(
    (n) => socket.send(`{"s":${n}}`),
    () => socket.send('"end"'),
  )
  socket.on('close', stop)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${server.address().port}\n`))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
