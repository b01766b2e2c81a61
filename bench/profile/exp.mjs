// Compares the built client's readEventStream/readNdjson with an experimental copy in
// bench/.tmp/exp-client (a proposed change to a file another engineer owns), in one process.
import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { digestRecord, smallLines } from '../lib/ndjson.mjs'
import { digestLarge, digestSmall, largeStream, smallStream } from '../lib/sse.mjs'

const [what, reps = '5'] = process.argv.slice(2)
const cur = await import('@sluice/client')
const exp = await import(process.env.EXP ?? '../.tmp/exp-client/index.js')
const data =
  what === 'sse-small'
    ? smallStream(200_000, 16384)
    : what === 'sse-large'
      ? largeStream(500, 65536, 100, 16384)
      : what === 'sse-one'
        ? largeStream(1, 4 * 2 ** 20, 100, 256)
        : smallLines(200_000, 16384)
async function run(lib) {
  let h = HASH_SEED
  if (what === 'ndjson-small') for await (const v of lib.readNdjson(streamOf(data.chunks))) h = digestRecord(h, v)
  else if (what === 'sse-small')
    for await (const m of lib.readEventStream(streamOf(data.chunks)))
      h = digestSmall(h, m.event, m.id, JSON.parse(m.data))
  else for await (const m of lib.readEventStream(streamOf(data.chunks))) h = digestLarge(h, m.event, m.id, m.data)
  if (h !== data.checksum) throw new Error('WRONG')
}
const t = { cur: [], exp: [] }
for (let r = 0; r < Number(reps); r++)
  for (const [k, lib] of [
    ['cur', cur],
    ['exp', exp],
  ]) {
    globalThis.gc?.()
    const t0 = performance.now()
    await run(lib)
    t[k].push(performance.now() - t0)
  }
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(
  what,
  'current',
  med(t.cur).toFixed(0),
  'ms; experiment',
  med(t.exp).toFixed(0),
  'ms; speed-up',
  (med(t.cur) / med(t.exp)).toFixed(2),
)
