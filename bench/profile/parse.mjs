// Profiling driver: runs one parse contestant on the full workload several times in one process,
// for `node --cpu-prof bench/profile/parse.mjs <sse-small|sse-large|ndjson-small> <contestant>`.

import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { digestRecord, readBaselineNdjson, smallLines } from '../lib/ndjson.mjs'
import { digestLarge, digestSmall, largeStream, smallStream } from '../lib/sse.mjs'
import { sseClients } from '../lib/sse-clients.mjs'

const [what, who, reps = '5'] = process.argv.slice(2)
let h = HASH_SEED
let count = 0
const t0 = performance.now()
for (let r = 0; r < Number(reps); r++) {
  if (what === 'sse-small') {
    const { chunks } = smallStream(200_000, 16384)
    await sseClients[who](
      () => streamOf(chunks),
      (e, d, id) => {
        h = digestSmall(h, e, id, d)
        count++
      },
      { parse: JSON.parse },
    )
  } else if (what === 'sse-large') {
    const { chunks } = largeStream(500, 65536, 100, 16384)
    await sseClients[who](
      () => streamOf(chunks),
      (e, d, id) => {
        h = digestLarge(h, e, id, d)
        count++
      },
    )
  } else if (what === 'ndjson-small') {
    const { chunks } = smallLines(200_000, 16384)
    if (who === 'baseline') {
      await readBaselineNdjson(streamOf(chunks), (v) => {
        h = digestRecord(h, v)
        count++
      })
    } else {
      const { readNdjson } = await import('@sluice/client')
      for await (const v of readNdjson(streamOf(chunks))) {
        h = digestRecord(h, v)
        count++
      }
    }
  }
}
console.log(what, who, count, h, `${(performance.now() - t0).toFixed(0)} ms`)
