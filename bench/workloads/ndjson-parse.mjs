// ndjson-parse: 200,000 lines of ~100-byte objects, and one 20 MB line, in 16 KiB chunks, with the
// peak memory of the parse (RSS and heap+external above the starting point).

import { createRequire } from 'node:module'
import { HASH_SEED, iterableOf, streamOf } from '../lib/data.mjs'
import { fastestOf, gc, MemoryTracker, now } from '../lib/measure.mjs'
import { digestHuge, digestRecord, hugeLine, readBaselineNdjson, smallLines } from '../lib/ndjson.mjs'
import { metricAtMost, ratioAtLeast } from '../lib/report.mjs'

export const title = 'ndjson-parse — many small lines, and one huge line'
export const description =
  'Every contestant parses the same chunks (16 KiB, boundaries inside multi-byte characters) and the checksum covers every record (small lines) or every row of the huge value. Memory is the peak above the starting point of the timed run (the input chunks are allocated before it): RSS from the kernel high-water mark plus samples, heap from `heapUsed + external` samples taken each time the parser pulls a chunk.'

const SLOW_ON_HUGE = ['ndjson-readablestream', 'it-ndjson', 'can-ndjson-stream', 'fetch-ndjson']
const MEMORY = [
  { key: 'rssPeakDelta', label: 'peak RSS Δ', kind: 'MB' },
  { key: 'heapPeakDelta', label: 'peak heap+ext Δ', kind: 'MB' },
]

export const variants = [
  {
    id: 'small',
    label: '200,000 lines of ~100-byte objects, 16 KiB chunks',
    unit: 'lines/s',
    params: (scale) => ({ kind: 'small', count: Math.round(200_000 * scale), chunkSize: 16 * 1024 }),
    goals: [ratioAtLeast('sluice-read', 0.9)],
    columns: MEMORY,
    note: (_p, e) =>
      `${e.count} lines, ${(e.bytes / 1e6).toFixed(1)} MB, ${e.splitChars} chunk boundaries inside a UTF-8 character. Issue 6 reference ratios: \`ndjson-readablestream\` ≈1.0, \`it-ndjson\` ≈1.0, \`@discoveryjs/json-ext\` ≈0.66. Each child times the stream \`BENCH_REPEAT\` (3) times and reports the fastest (memory: of the first run).`,
  },
  {
    id: 'huge',
    label: 'One 20 MB line, 16 KiB chunks',
    unit: 'MB/s',
    params: (scale) => ({ kind: 'huge', size: Math.round(20e6 * scale), chunkSize: 16 * 1024 }),
    timeoutMs: 60_000,
    contestantRounds: Object.fromEntries(SLOW_ON_HUGE.map((id) => [id, 1])),
    goals: [
      ratioAtLeast('sluice-read', 0.8),
      metricAtMost('sluice-read', 'rssPeakDelta', (p) => 3 * p.size, 'peak RSS Δ < 3 × line size'),
    ],
    columns: [...MEMORY, { key: 'rssPerLine', label: 'peak RSS Δ ÷ line size', kind: 'x' }],
    note: (_p, e) =>
      `One value of ${(e.bytes / 1e6).toFixed(1)} MB (1,000 rows of ~20 KB text, non-ASCII every few hundred characters). Sluice is given \`maxLineSize: 64 MiB\` (its default bound is 8 MiB). ${SLOW_ON_HUGE.map((s) => `\`${s}\``).join(', ')} split or re-parse the whole buffered text for every chunk (quadratic), so they run in round 1 only, with the 60 s limit.`,
  },
  {
    id: 'huge-ascii',
    label: 'One 20 MB line of ASCII only, 16 KiB chunks (fast contestants only)',
    unit: 'MB/s',
    params: (scale) => ({ kind: 'huge', ascii: true, size: Math.round(20e6 * scale), chunkSize: 16 * 1024 }),
    timeoutMs: 60_000,
    contestants: ['baseline', 'sluice-read', 'sluice-stream', 'json-ext'],
    goals: [
      ratioAtLeast('sluice-read', 0.8),
      metricAtMost('sluice-read', 'rssPeakDelta', (p) => 3 * p.size, 'peak RSS Δ < 3 × line size'),
    ],
    columns: [...MEMORY, { key: 'rssPerLine', label: 'peak RSS Δ ÷ line size', kind: 'x' }],
    note: 'The same shape without any non-ASCII character: V8 then keeps the decoded text as a one-byte string (1 byte per character instead of 2), which is what makes a bound near 2–3 × the line size reachable at all.',
  },
]

export function expected(params) {
  const r =
    params.kind === 'small'
      ? smallLines(params.count, params.chunkSize)
      : hugeLine(params.size, params.chunkSize, 5, params.ascii)
  return { count: r.count, checksum: r.checksum, bytes: r.bytes, splitChars: r.splitChars }
}

/**
 * Warm-up on a 1/10-size input, then the timed run with memory tracking. `parse(source, onValue)`
 * consumes `source` (`{ stream(), iterable() }` factories over the chunks, both sampling memory as
 * the parser pulls) and calls `onValue` per parsed value.
 */
async function timed(params, parse) {
  const make = (p) =>
    p.kind === 'small' ? smallLines(p.count, p.chunkSize, 4) : hugeLine(p.size, p.chunkSize, 6, p.ascii)
  const run = async (data, tracker) => {
    const every = params.kind === 'small' ? 64 : 1
    const onPull = tracker ? (i) => i % every === 0 && tracker.sample() : undefined
    let count = 0
    let checksum = HASH_SEED
    const onValue =
      params.kind === 'small'
        ? (v) => {
            checksum = digestRecord(checksum, v)
            count++
          }
        : (v) => {
            checksum = digestHuge(checksum, v)
            count++
          }
    await parse(
      { stream: () => streamOf(data.chunks, onPull), iterable: () => iterableOf(data.chunks, onPull) },
      onValue,
    )
    return { count, checksum }
  }
  const small = {
    ...params,
    count: Math.max(1, Math.round((params.count ?? 0) / 10)),
    size: Math.round((params.size ?? 0) / 10),
  }
  await run(make(small))
  const data =
    params.kind === 'small'
      ? smallLines(params.count, params.chunkSize)
      : hugeLine(params.size, params.chunkSize, 5, params.ascii)
  gc()
  const tracker = new MemoryTracker()
  const t0 = now()
  const first = await run(data, tracker)
  const firstMs = now() - t0
  const mem = tracker.result()
  // Memory is the first timed run's; the small lines (a speed goal only) take the fastest of
  // BENCH_REPEAT runs, the huge lines (a memory goal too) are timed once.
  const r =
    params.kind === 'small'
      ? await fastestOf(async (i) => {
          if (i === 0) return { ...first, ms: firstMs }
          gc()
          const t = now()
          const again = await run(data)
          return { ...again, ms: now() - t }
        })
      : { ...first, ms: firstMs }
  const ms = r.ms
  const units = params.kind === 'small' ? r.count : data.bytes / 1e6
  return { ...r, ms, units, ...mem, rssPerLine: params.kind === 'huge' ? mem.rssPeakDelta / data.bytes : undefined }
}

const require = createRequire(import.meta.url)

export const contestants = [
  {
    id: 'baseline',
    label: 'baseline (hand-written splitter + JSON.parse)',
    kind: 'baseline',
    run: (params) => timed(params, (src, onValue) => readBaselineNdjson(src.stream(), onValue)),
  },
  {
    id: 'sluice-read',
    label: '**Sluice `readNdjson`**',
    kind: 'sluice',
    run: async (params) => {
      const { readNdjson } = await import('@sluice/client')
      return timed(params, async (src, onValue) => {
        for await (const v of readNdjson(src.stream(), { maxLineSize: 64 * 1024 * 1024 })) onValue(v)
      })
    },
  },
  {
    id: 'sluice-stream',
    label: '**Sluice `NdjsonParseStream`**',
    kind: 'sluice',
    run: async (params) => {
      const { NdjsonParseStream } = await import('@sluice/client')
      return timed(params, async (src, onValue) => {
        for await (const v of src.stream().pipeThrough(new NdjsonParseStream({ maxLineSize: 64 * 1024 * 1024 }))) {
          onValue(v)
        }
      })
    },
  },
  {
    id: 'ndjson-readablestream',
    label: '`ndjson-readablestream`',
    kind: 'anchor',
    run: async (params) => {
      const { default: readNDJSONStream } = await import('ndjson-readablestream')
      return timed(params, async (src, onValue) => {
        for await (const v of readNDJSONStream(src.stream())) onValue(v)
      })
    },
  },
  {
    id: 'it-ndjson',
    label: '`it-ndjson` `parse`',
    kind: 'anchor',
    run: async (params) => {
      const { parse } = await import('it-ndjson')
      return timed(params, async (src, onValue) => {
        for await (const v of parse(src.iterable())) onValue(v)
      })
    },
  },
  {
    id: 'json-ext',
    label: '`@discoveryjs/json-ext` `parseChunked` (mode `jsonl`)',
    kind: 'anchor',
    run: async (params) => {
      const { parseChunked } = await import('@discoveryjs/json-ext')
      return timed(params, async (src, onValue) => {
        await parseChunked(src.iterable(), { mode: 'jsonl', onRootValue: (v) => onValue(v) })
      })
    },
  },
  {
    id: 'can-ndjson-stream',
    label: '`can-ndjson-stream`',
    kind: 'anchor',
    run: async (params) => {
      const ndjsonStream = require('can-ndjson-stream')
      return timed(params, async (src, onValue) => {
        for await (const v of ndjsonStream(src.stream())) onValue(v)
      })
    },
  },
  {
    id: 'fetch-ndjson',
    label: '`fetch-ndjson`',
    kind: 'anchor',
    run: async (params) => {
      const ndjson = require('fetch-ndjson').default
      return timed(params, async (src, onValue) => {
        for await (const v of ndjson(src.stream().getReader())) onValue(v)
      })
    },
  },
]
