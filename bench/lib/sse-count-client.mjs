// Loopback SSE reader process for the server benchmarks: `node sse-count-client.mjs` prints
// `READY`, then for every `GET <url>` line on stdin reads that URL as fast as it can with
// `node:http` and the baseline parser, and prints `RESULT {"count","checksum","ms","bytes"}`.
// The same reader serves every server contestant, so its cost is the same for all of them; it runs
// in its own process so it does not share the server's event loop. Exits when stdin closes.

import { get } from 'node:http'
import { createInterface } from 'node:readline'
import { HASH_SEED } from './data.mjs'
import { now } from './measure.mjs'
import { createBaselineSseParser, digestSmall } from './sse.mjs'

function read(url) {
  return new Promise((resolve, reject) => {
    let count = 0
    let bytes = 0
    let checksum = HASH_SEED
    const p = createBaselineSseParser((event, data, id) => {
      checksum = digestSmall(checksum, event, id, JSON.parse(data))
      count++
    })
    const t0 = now()
    const req = get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
      res.on('data', (b) => {
        bytes += b.length
        p.feed(b)
      })
      res.on('end', () => {
        p.end()
        resolve({ count, checksum, ms: now() - t0, bytes })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

const rl = createInterface({ input: process.stdin })
process.stdout.write('READY \n')
for await (const line of rl) {
  if (!line.startsWith('GET ')) continue
  try {
    process.stdout.write(`RESULT ${JSON.stringify(await read(line.slice(4)))}\n`)
  } catch (error) {
    process.stdout.write(`RESULT ${JSON.stringify({ error: String(error) })}\n`)
  }
}
