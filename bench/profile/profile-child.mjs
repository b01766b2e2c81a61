// One contestant under the V8 sampling profiler, for report.mjs (one fresh process each).
// `node bench/profile/profile-child.mjs <sse-small|sse-large|ndjson-small> <contestant> <reps> <out.cpuprofile> [intervalUs]`
//
// The input is generated BEFORE the profiler starts (the same generators and sizes as parse.mjs),
// so the profile holds parsing and delivering only (plus the consumer's checksum, which summary.mjs
// sets apart). Every run is checked against the generator's count and checksum: a profile of a
// wrong answer is worthless. Prints one JSON line.

import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { digestRecord, readBaselineNdjson, smallLines } from '../lib/ndjson.mjs'
import { digestLarge, digestSmall, largeStream, smallStream } from '../lib/sse.mjs'
import { sseClients } from '../lib/sse-clients.mjs'

const [what, who, reps = '5', out, interval = '500'] = process.argv.slice(2)
if (!out) throw new TypeError('usage: profile-child.mjs <workload> <contestant> <reps> <out.cpuprofile> [intervalUs]')

/** The workload's input at `scale` (1: the sizes of parse.mjs and of the benchmark). */
const generate = (scale) =>
  what === 'sse-small'
    ? smallStream(200_000 * scale, 16384)
    : what === 'sse-large'
      ? largeStream(500 * scale, 65536, 100, 16384)
      : what === 'ndjson-small'
        ? smallLines(200_000 * scale, 16384)
        : undefined
const data = generate(1)
if (!data) throw new TypeError(`unknown workload "${what}"`)
// Like the benchmark's children, a warm-up on a 1/10-size input first (not profiled): module
// loading and the first JIT tiers are not what a long stream costs.
const warm = generate(0.1)
if (what.startsWith('sse') && !sseClients[who]) throw new TypeError(`unknown SSE contestant "${who}"`)
if (what === 'ndjson-small' && who !== 'baseline' && who !== 'sluice-read')
  throw new TypeError(`unknown NDJSON contestant "${who}"`)
// Imported before profiling, as every contestant's module is loaded before its first run.
const { readNdjson } = await import('@sluice/client')

/**
 * The consumer's own JSON.parse, as a named frame: a native call is charged to its JS caller, and
 * without this frame the parse of every message's data would show up as the self time of the
 * contestant's wrapper in sse-clients.mjs.
 */
function consumerJsonParse(text) {
  return JSON.parse(text)
}

/**
 * One pass over the whole input; resolves with what the consumer counted and checksummed. The
 * consumer callbacks are named (`onSmallEvent`, ...) so that summary.mjs can set them apart.
 */
async function once(input) {
  let h = HASH_SEED
  let count = 0
  const onSmallEvent = (e, d, id) => {
    h = digestSmall(h, e, id, d)
    count++
  }
  const onLargeEvent = (e, d, id) => {
    h = digestLarge(h, e, id, d)
    count++
  }
  const onRecord = (v) => {
    h = digestRecord(h, v)
    count++
  }
  if (what === 'ndjson-small') {
    if (who === 'baseline') await readBaselineNdjson(streamOf(input.chunks), onRecord)
    else {
      for await (const v of readNdjson(streamOf(input.chunks))) onRecord(v)
    }
  } else if (what === 'sse-small') {
    await sseClients[who](() => streamOf(input.chunks), onSmallEvent, { parse: consumerJsonParse })
  } else {
    await sseClients[who](() => streamOf(input.chunks), onLargeEvent)
  }
  return { count, checksum: h }
}

const warmed = await once(warm)
if (warmed.count !== warm.count || warmed.checksum !== warm.checksum) throw new Error('warm-up run: wrong result')

const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: Number(interval) })
const runs = []
let wrong
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await session.post('Profiler.start')
try {
  for (let r = 0; r < Number(reps); r++) {
    const start = performance.now()
    const got = await once(data)
    runs.push(performance.now() - start)
    if (got.count !== data.count || got.checksum !== data.checksum)
      wrong ??= `run ${r + 1}: count ${got.count} / ${data.count}, checksum ${got.checksum} / ${data.checksum}`
  }
} finally {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(out, JSON.stringify(profile))
  session.disconnect()
}
const wallMs = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
console.log(
  JSON.stringify({
    what,
    who,
    runs,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    count: data.count,
    inputBytes: data.chunks.reduce((a, c) => a + c.byteLength, 0),
    chunks: data.chunks.length,
    verified: wrong === undefined,
    ...(wrong ? { wrong } : {}),
  }),
)
