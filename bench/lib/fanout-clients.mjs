// The fan-out client fleet, its own process: `node fanout-clients.mjs <url> <clients> <messages>`.
// Opens <clients> SSE connections (50 at a time, so the listen backlog never overflows), prints
// `READY` once every response head has arrived, then parses every stream (the baseline parser),
// checks that each client sees the sequence numbers 0..messages-1 in order, measures each
// message's latency (receive wall time minus the `t` the server put in it; same machine clock) and
// prints `RESULT {count, checksum, p50, p99, lastAt, failures}` when all are complete, or after 60 s.
// Exits when stdin closes.

import { Agent, get } from 'node:http'
import { HASH_SEED, mix } from './data.mjs'
import { wallNow } from './measure.mjs'
import { createBaselineSseParser } from './sse.mjs'

const [url, clientsArg, messagesArg] = process.argv.slice(2)
const clients = Number(clientsArg)
const messages = Number(messagesArg)
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
// Latencies in a preallocated typed array: bounded memory for clients × messages samples.
const latencies = new Float64Array(clients * messages)
let samples = 0
let complete = 0
let lastAt = 0
let checksumSum = 0
let failures = 0
const requests = []

function open() {
  return new Promise((resolve, reject) => {
    let h = HASH_SEED
    let expected = 0
    const p = createBaselineSseParser((_event, data) => {
      const now = wallNow()
      const m = JSON.parse(data)
      if (m.s !== expected) failures++
      expected = m.s + 1
      h = mix(h, m.s)
      if (samples < latencies.length) latencies[samples++] = now - m.t
      if (expected === messages) {
        complete++
        lastAt = now
        checksumSum = (checksumSum + h) >>> 0
        if (complete === clients) finish()
      }
    })
    const req = get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`))
      res.on('data', (b) => p.feed(b))
      res.on('error', () => {
        // A reset at the end (the server closes every stream) is expected; counts are what matter.
      })
      resolve()
    })
    req.on('error', reject)
    requests.push(req)
  })
}

let finished = false
function finish() {
  if (finished) return
  finished = true
  const xs = latencies.subarray(0, samples).sort()
  const q = (f) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] : undefined)
  process.stdout.write(
    `RESULT ${JSON.stringify({ count: samples, checksum: checksumSum, p50: q(0.5), p99: q(0.99), lastAt, failures, complete })}\n`,
  )
}

for (let i = 0; i < clients; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, clients - i) }, open))
}
process.stdout.write('READY \n')
setTimeout(finish, 60_000).unref()
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
