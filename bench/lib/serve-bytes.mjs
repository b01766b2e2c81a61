// A loopback HTTP server process serving pre-generated SSE bytes, for the end-to-end client runs:
// `node bench/lib/serve-bytes.mjs` prints `PORT <n>`, then serves `GET /?kind=small&count=N&seed=S`
// (`&prime=1`: generate and cache only, answer 204) by writing the same chunks the in-memory runs parse (honouring `drain`), followed by a final
// `event: end` frame (so reconnecting clients know when to stop). It exits when its parent closes
// stdin, so a killed measurement never leaves it behind.

import { createServer } from 'node:http'
import { largeStream, smallStream } from './sse.mjs'

const cache = new Map()
function bytesFor(url) {
  url.searchParams.delete('prime')
  const key = url.search
  let v = cache.get(key)
  if (!v) {
    const p = url.searchParams
    const chunkSize = Number(p.get('chunk') ?? 16384)
    v =
      p.get('kind') === 'large'
        ? largeStream(Number(p.get('count')), Number(p.get('size')), Number(p.get('line')), chunkSize)
        : smallStream(Number(p.get('count')), chunkSize, Number(p.get('seed') ?? 1))
    // Bound the cache: one warm-up entry and one timed entry are all a measurement uses.
    if (cache.size >= 2) cache.delete(cache.keys().next().value)
    cache.set(key, v)
  }
  return v
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  // `prime=1` only generates (and caches) the bytes, so the timed request does not pay for that.
  const prime = url.searchParams.has('prime')
  const { chunks } = bytesFor(url)
  if (prime) return res.writeHead(204).end()
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  let closed = false
  res.on('close', () => {
    closed = true
  })
  for (const c of chunks) {
    if (closed) return
    if (!res.write(c)) {
      // Both listeners go once either fires: a long stream must not pile up `close` listeners.
      await new Promise((resolve) => {
        const done = () => {
          res.off('drain', done).off('close', done)
          resolve()
        }
        res.on('drain', done).on('close', done)
      })
    }
  }
  res.end('event: end\ndata: end\n\n')
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
