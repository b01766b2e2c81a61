// sse-parse: 200,000 small events (`id`, `event`, JSON `data` with non-ASCII) in 16 KiB chunks,
// parsed to typed objects; in memory, and end to end over a loopback server.

import { fileURLToPath } from 'node:url'
import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { fastestOf, gc, now } from '../lib/measure.mjs'
import { fasterThan, ratioAtLeast } from '../lib/report.mjs'
import { startHelper } from '../lib/spawn.mjs'
import { digestSmall, smallStream } from '../lib/sse.mjs'
import { sseClients, sseLabels } from '../lib/sse-clients.mjs'

export const title = 'sse-parse — small events to typed objects'
export const description =
  'Each event has an `id`, an `event` type (absent for "message") and JSON `data` (~100 bytes with 2-, 3- and 4-byte UTF-8 characters), in 16 KiB chunks whose boundaries cut through multi-byte characters. Every contestant produces `{ event, id, data: JSON.parse(data) }` (Sluice\'s connection through its `parse` option); the checksum covers all three. Each child warms up on a 1/10-size stream first, then times the full stream `BENCH_REPEAT` (3) times and reports the fastest.'

const SERVE = fileURLToPath(new URL('../lib/serve-bytes.mjs', import.meta.url))

export const variants = [
  {
    id: 'memory',
    label: 'In memory: 200,000 events from a ReadableStream of 16 KiB chunks',
    unit: 'events/s',
    params: (scale) => ({ count: Math.round(200_000 * scale), chunkSize: 16 * 1024, seed: 1 }),
    contestants: [
      'baseline',
      'sluice-read',
      'sluice-connection',
      'esp-parser',
      'esp-stream',
      'eventsource',
      'fes-parser',
    ],
    goals: [ratioAtLeast('sluice-read', 0.8)],
    note: (_p, e) =>
      `${e.count} events, ${(e.bytes / 1e6).toFixed(1)} MB, ${e.chunks} chunks, ${e.splitChars} chunk boundaries inside a UTF-8 character. \`createEventStream\` and \`eventsource\` get a custom \`fetch\` answering with the in-memory stream. Issue 6 reference ratios for the anchors: \`createParser\` ≈0.9, \`EventSourceParserStream\` ≈0.46, \`eventsource\` ≈0.6, fetch-event-source ≈0.4.`,
  },
  {
    id: 'e2e',
    label: 'End to end: 200,000 events from a loopback HTTP server (separate process)',
    unit: 'events/s',
    params: (scale) => ({ count: Math.round(200_000 * scale), chunkSize: 16 * 1024, seed: 1 }),
    contestants: ['baseline', 'sluice-connection', 'eventsource', 'fes-fetch'],
    goals: [fasterThan('sluice-connection', 'eventsource', '`eventsource`')],
    note: 'Baseline here: `fetch` + the hand-written parser. The server process writes the same bytes (16 KiB writes, honouring `drain`) and a final `event: end`, which ends each client (a `done` predicate for Sluice, a listener that closes for `eventsource`, an abort for fetch-event-source).',
  },
]

export function expected(params) {
  const { count, checksum, bytes, chunks, splitChars } = smallStream(params.count, params.chunkSize, params.seed)
  return { count, checksum, bytes, chunks: chunks.length, splitChars }
}

/** Warm-up on a 1/10-size input (another seed), then the timed run. */
async function timed(params, variant, client) {
  let input
  let server
  if (variant.id === 'e2e') {
    server = await startHelper(SERVE)
    const base = `http://127.0.0.1:${server.ready}/`
    input = (p) => `${base}?kind=small&count=${p.count}&seed=${p.seed}&chunk=${p.chunkSize}`
  } else {
    input = (p) => {
      const { chunks } = smallStream(p.count, p.chunkSize, p.seed)
      return () => streamOf(chunks)
    }
  }
  const run = async (source) => {
    let count = 0
    let checksum = HASH_SEED
    await client(
      source,
      (event, data, id) => {
        checksum = digestSmall(checksum, event, id, data)
        count++
      },
      { parse: JSON.parse },
    )
    return { count, checksum }
  }
  await run(input({ ...params, count: Math.max(1, Math.round(params.count / 10)), seed: 99 }))
  const real = input(params)
  if (server) {
    const primed = await fetch(`${real}&prime=1`)
    if (primed.status !== 204) throw new Error(`priming the server failed: ${primed.status}`)
  }
  const best = await fastestOf(async () => {
    gc()
    const t0 = now()
    const r = await run(real)
    return { ...r, ms: now() - t0 }
  })
  await server?.stop()
  return { ...best, units: best.count }
}

export const contestants = Object.entries(sseClients).map(([id, client]) => ({
  id,
  label: `${sseLabels[id]} + JSON.parse`,
  kind: id === 'baseline' ? 'baseline' : id.startsWith('sluice') ? 'sluice' : 'anchor',
  run: (params, variant) => timed(params, variant, client),
}))
