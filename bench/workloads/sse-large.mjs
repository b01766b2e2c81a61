// sse-large: 500 events of 64 KiB spread over many `data:` lines (16 KiB chunks), and one 4 MiB
// event in 256-byte chunks, with a linearity check (the same contestant, in the same process, on a
// 1 MiB event and on the 4 MiB event: a linear parser keeps its MB/s, a quadratic one loses ~4x).

import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { fastestOf, gc, now } from '../lib/measure.mjs'
import { ratioAtLeast } from '../lib/report.mjs'
import { digestLarge, largeStream } from '../lib/sse.mjs'
import { sseClients, sseLabels } from '../lib/sse-clients.mjs'

export const title = 'sse-large — large events over many `data:` lines'
export const description =
  'Event data is text with 2-, 3- and 4-byte UTF-8 characters, sent as `data:` lines of ~100 characters that the parser must join with "\\n"; the checksum covers the length and several characters of every joined event. Sluice runs with its default `maxMessageSize` (8 MiB). Each child warms up on a 1/10-size input first, then times each input `BENCH_REPEAT` (3) times and reports the fastest.'

const IDS = ['baseline', 'sluice-read', 'sluice-connection', 'esp-parser', 'esp-stream', 'eventsource', 'fes-parser']

export const variants = [
  {
    id: 'many',
    label: '500 events of 64 KiB, 16 KiB chunks',
    unit: 'MB/s',
    params: (scale) => ({
      count: Math.max(2, Math.round(500 * scale)),
      size: 64 * 1024,
      line: 100,
      chunkSize: 16 * 1024,
    }),
    contestants: IDS,
    goals: [ratioAtLeast('sluice-read', 0.9)],
    note: (_p, e) => `${e.count} events, ${(e.bytes / 1e6).toFixed(1)} MB.`,
  },
  {
    id: 'one',
    label: 'One 4 MiB event, 256-byte chunks',
    unit: 'MB/s',
    params: (scale) => ({ count: 1, size: Math.round(4 * 2 ** 20 * Math.max(scale, 0.25)), line: 100, chunkSize: 256 }),
    contestants: IDS,
    timeoutMs: 120_000,
    goals: [
      ratioAtLeast('sluice-read', 0.9),
      {
        contestant: 'sluice-read',
        text: 'linear (MB/s at 4 MiB ≥ 0.7 × at 1 MiB in every round)',
        check: (s) => {
          const c = s['sluice-read']
          const xs = c?.metric('linearity') ?? []
          return Boolean(c?.allOk && xs.length === c.ran && Math.min(...xs) >= 0.7)
        },
      },
    ],
    columns: [{ key: 'linearity', label: 'MB/s at 4 MiB ÷ MB/s at 1 MiB (1 = linear, 0.25 = quadratic)', kind: 'x' }],
    note: (_p, e) =>
      `${(e.bytes / 1e6).toFixed(2)} MB in ${e.chunks} chunks. Each child first times a 1 MiB event (after the warm-up), then the 4 MiB one (each the fastest of its runs). Issue 6 reference: fetch-event-source ≈0.5 and quadratic on this event.`,
  },
]

export function expected(params) {
  const { count, checksum, bytes, chunks } = largeStream(params.count, params.size, params.line, params.chunkSize)
  return { count, checksum, bytes, chunks: chunks.length }
}

async function once(client, p, seed) {
  const { chunks, bytes } = largeStream(p.count, p.size, p.line, p.chunkSize, seed)
  let count = 0
  let checksum = HASH_SEED
  gc()
  const t0 = now()
  await client(
    () => streamOf(chunks),
    (event, data, id) => {
      checksum = digestLarge(checksum, event, id, data)
      count++
    },
  )
  const ms = now() - t0
  return { count, checksum, ms, bytes }
}

export const contestants = Object.entries(sseClients)
  .filter(([id]) => IDS.includes(id))
  .map(([id, client]) => ({
    id,
    label: sseLabels[id],
    kind: id === 'baseline' ? 'baseline' : id.startsWith('sluice') ? 'sluice' : 'anchor',
    run: async (params, variant) => {
      const warm =
        variant.id === 'one'
          ? { ...params, size: Math.round(params.size / 10) }
          : { ...params, count: Math.max(1, Math.round(params.count / 10)) }
      await once(client, warm, 11)
      let linearity
      if (variant.id === 'one') {
        const quarter = await fastestOf(() => once(client, { ...params, size: Math.round(params.size / 4) }, 12))
        const full = await fastestOf(() => once(client, params, 7))
        linearity = full.bytes / full.ms / (quarter.bytes / quarter.ms)
        return { count: full.count, checksum: full.checksum, ms: full.ms, units: full.bytes / 1e6, linearity }
      }
      const r = await fastestOf(() => once(client, params, 7))
      return { count: r.count, checksum: r.checksum, ms: r.ms, units: r.bytes / 1e6 }
    },
  }))
