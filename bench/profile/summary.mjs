// Summarizes a V8 .cpuprofile (from `node --cpu-prof` or the inspector): self time per function, top N.
// `node bench/profile/summary.mjs <file.cpuprofile> [N]`
//
// The workload drivers build their input in the same process (bench/lib generators), and the
// consumer callbacks checksum what they receive. Neither is the cost of parsing and delivering, so
// their samples are set apart instead of being mixed into the table: a sample is "input generation"
// when any frame of its stack is one of the generators (what they call, JSON.stringify and
// TextEncoder included, lands under them), and "consumer" when its own frame is a digest function or
// one of profile-child.mjs's consumer callbacks (including its JSON.parse of each SSE message's data,
// which every contestant does the same and which is not the parser's work). Garbage collection caused
// by the generators cannot be told apart (its samples have no JS stack): for a clean profile use
// profile-child.mjs / report.mjs, which build the input before the profiler starts.

import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const BENCH_LIB = /\/bench\/lib\/(data|sse|ndjson)\.mjs$/
/** The data generators of bench/lib (ChunkWriter's methods appear as `write`/`finish`). */
const GENERATORS = new Set([
  'smallStream',
  'largeStream',
  'smallEvents',
  'smallFrame',
  'smallLines',
  'hugeLine',
  'text',
  'sparseText',
  'prng',
  'chunk',
  'ChunkWriter',
  'write',
  'finish',
])
/** The consumer's work: the checksum steps, and profile-child.mjs's callbacks and JSON.parse of SSE data. */
const CONSUMER = new Set([
  'digestSmall',
  'digestLarge',
  'digestRecord',
  'digestHuge',
  'mix',
  'consumerJsonParse',
  'onSmallEvent',
  'onLargeEvent',
  'onRecord',
])
const BENCH = /\/bench\/(lib|profile)\/[^/]+\.mjs$/

/** `node_modules/x/...`, `packages/client/dist/...`, `bench/...`: short enough for a table. */
export function shortUrl(url) {
  return url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')
}

/**
 * Self time per function of one profile (µs), with input generation and the consumer set apart.
 * @param {{ nodes: any[], samples: number[], timeDeltas: number[] }} prof
 * @returns {{ total: number, generation: number, consumer: number, idle: number, work: number,
 *   rows: Array<{ fn: string, where: string, file: string, us: number }> }}
 *   `work` = total - generation - consumer - idle: parse + deliver, what the rows are shares of.
 */
export function summarize(prof) {
  const byId = new Map(prof.nodes.map((x) => [x.id, x]))
  const parent = new Map()
  for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id)
  const underGenerator = new Map()
  const isGeneration = (id) => {
    if (underGenerator.has(id)) return underGenerator.get(id)
    const f = byId.get(id).callFrame
    const own = GENERATORS.has(f.functionName) && BENCH_LIB.test(f.url)
    const p = parent.get(id)
    const result = own || (p !== undefined && isGeneration(p))
    underGenerator.set(id, result)
    return result
  }
  const self = new Map()
  let total = 0
  let generation = 0
  let consumer = 0
  let idle = 0
  const dt = prof.timeDeltas
  for (let i = 0; i < prof.samples.length; i++) {
    const us = dt[i] ?? 0
    total += us
    const id = prof.samples[i]
    const f = byId.get(id).callFrame
    if (f.functionName === '(idle)') idle += us
    else if (isGeneration(id)) generation += us
    else if (CONSUMER.has(f.functionName) && BENCH.test(f.url)) consumer += us
    else {
      const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''
      const key = `${f.functionName || '(anonymous)'} ${where}`
      const row = self.get(key)
      if (row) row.us += us
      else self.set(key, { fn: f.functionName || '(anonymous)', where, file: f.url ? shortUrl(f.url) : '', us })
    }
  }
  const rows = [...self.values()].sort((a, b) => b.us - a.us)
  return { total, generation, consumer, idle, work: total - generation - consumer - idle, rows }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, n = '25'] = process.argv.slice(2)
  if (!file) throw new TypeError('usage: summary.mjs <file.cpuprofile> [N]')
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')))
  const line = (us, label) =>
    console.log(`${((us / s.total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${label}`)
  for (const r of s.rows.slice(0, Number(n))) line(r.us, `${r.fn} ${r.where}`)
  console.log('set apart:')
  line(s.generation, 'input generation (bench/lib generators)')
  line(s.consumer, 'consumer (checksum callbacks, their JSON.parse)')
  line(s.idle, '(idle)')
}
