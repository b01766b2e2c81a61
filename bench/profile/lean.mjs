// What an async-generator readEventStream costs when it does no line splitting of its own: decode
// each chunk once, feed eventsource-parser once per chunk, yield what it dispatched. (A measuring
// stick for the proposal in the bench report, not a parser to ship: it drops the id-only-block
// rule and counts the bound in characters.)
import { createParser } from 'eventsource-parser'
import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { digestSmall, smallStream } from '../lib/sse.mjs'

export async function* lean(stream) {
  const ready = []
  let lastId = ''
  const parser = createParser({
    onEvent: (e) => {
      if (e.id !== undefined) lastId = e.id
      ready.push({ event: e.event ?? 'message', data: e.data, id: lastId })
    },
  })
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      parser.feed(decoder.decode(value, { stream: true }))
      for (let i = 0; i < ready.length; i++) yield ready[i]
      ready.length = 0
    }
  } finally {
    reader.releaseLock()
  }
}

const data = smallStream(200_000, 16384)
const { readEventStream } = await import('@sluice/client')
const t = { cur: [], lean: [] }
for (let r = 0; r < 7; r++) {
  for (const [k, f] of [
    ['cur', readEventStream],
    ['lean', lean],
  ]) {
    globalThis.gc?.()
    const t0 = performance.now()
    let h = HASH_SEED
    for await (const m of f(streamOf(data.chunks))) h = digestSmall(h, m.event, m.id, JSON.parse(m.data))
    t[k].push(performance.now() - t0)
    if (h !== data.checksum) throw new Error(`WRONG ${k}`)
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log('readEventStream', med(t.cur).toFixed(0), 'ms; lean async generator', med(t.lean).toFixed(0), 'ms')
