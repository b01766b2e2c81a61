// Quick in-process comparison for profiling sessions (NOT the benchmark: no fresh processes).
// `node bench/profile/compare.mjs <sse-small|sse-large|sse-one|ndjson-small> <reps> <contestant...>`

import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { digestRecord, readBaselineNdjson, smallLines } from '../lib/ndjson.mjs'
import { digestLarge, digestSmall, largeStream, smallStream } from '../lib/sse.mjs'
import { sseClients } from '../lib/sse-clients.mjs'

const [what, reps, ...who] = process.argv.slice(2)
const data =
  what === 'sse-small'
    ? smallStream(200_000, 16384)
    : what === 'sse-large'
      ? largeStream(500, 65536, 100, 16384)
      : what === 'sse-one'
        ? largeStream(1, 4 * 2 ** 20, 100, 256)
        : smallLines(200_000, 16384)
const { readNdjson } = await import('@sluice/client')
const runners = {
  async ndjson(id) {
    let h = HASH_SEED
    if (id === 'baseline') await readBaselineNdjson(streamOf(data.chunks), (v) => (h = digestRecord(h, v)))
    else for await (const v of readNdjson(streamOf(data.chunks))) h = digestRecord(h, v)
    return h
  },
  async sse(id) {
    let h = HASH_SEED
    const small = what === 'sse-small'
    await sseClients[id](
      () => streamOf(data.chunks),
      (e, d, i) => (h = small ? digestSmall(h, e, i, d) : digestLarge(h, e, i, d)),
      small ? { parse: JSON.parse } : {},
    )
    return h
  },
}
const times = Object.fromEntries(who.map((w) => [w, []]))
for (let r = 0; r < Number(reps); r++) {
  for (const w of who) {
    globalThis.gc?.()
    const t0 = performance.now()
    const h = await runners[what.startsWith('ndjson') ? 'ndjson' : 'sse'](w)
    times[w].push(performance.now() - t0)
    if (h !== data.checksum) console.log('WRONG', w)
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const base = med(times[who[0]])
for (const w of who) console.log(w.padEnd(20), `${med(times[w]).toFixed(0)} ms`, (base / med(times[w])).toFixed(2))
