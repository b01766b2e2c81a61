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

/** NDJSON the same way: one streaming decode per chunk, string split, JSON.parse, yield. */
export async function* leanNdjson(stream) {
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  const ready = []
  let pending = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true })
      let start = 0
      let nl = text.indexOf('\n')
      while (nl >= 0) {
        const line = pending + text.slice(start, nl)
        pending = ''
        if (line.length > 0) ready.push(JSON.parse(line))
        start = nl + 1
        nl = text.indexOf('\n', start)
      }
      pending += text.slice(start)
      for (let i = 0; i < ready.length; i++) yield ready[i]
      ready.length = 0
      if (done) {
        if (pending) yield JSON.parse(pending)
        return
      }
    }
  } finally {
    reader.releaseLock()
  }
}

const mode = process.argv[2] ?? 'sse'
if (mode === 'ndjson') {
  const { smallLines, digestRecord } = await import('../lib/ndjson.mjs')
  const nd = smallLines(200_000, 16384)
  const { readNdjson } = await import('@sluice/client')
  const tt = { cur: [], lean: [] }
  for (let r = 0; r < 7; r++) {
    for (const [k, f] of [
      ['cur', readNdjson],
      ['lean', leanNdjson],
    ]) {
      globalThis.gc?.()
      const t0 = performance.now()
      let h = HASH_SEED
      for await (const v of f(streamOf(nd.chunks))) h = digestRecord(h, v)
      tt[k].push(performance.now() - t0)
      if (h !== nd.checksum) throw new Error(`WRONG ${k}`)
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  console.log('readNdjson', med(tt.cur).toFixed(0), 'ms; lean async generator', med(tt.lean).toFixed(0), 'ms')
  process.exit(0)
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
