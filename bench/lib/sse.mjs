// SSE workload data and the hand-written baseline parser.
//
// The baseline is the "practical speed limit": the least work that still parses this workload's
// stream correctly (LF or CRLF line ends, `event`/`id`/`data` fields, multi-line data, comments,
// split UTF-8 via a streaming TextDecoder). It is deliberately NOT spec-complete (no lone-CR line
// ends, no `retry`, no BOM) and lives only here: the library itself parses with eventsource-parser
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).

import { ChunkWriter, HASH_SEED, mix, prng, text } from './data.mjs'

const KINDS = ['message', 'update', 'tick', 'message', 'status']

/** 200,000-style small events: `id`, `event` (absent for "message"), JSON `data` with non-ASCII. */
export function* smallEvents(count, seed = 1) {
  const rand = prng(seed)
  for (let n = 0; n < count; n++) {
    const kind = KINDS[(rand() * KINDS.length) | 0]
    const obj = { n, kind, text: text(rand, 10 + ((rand() * 50) | 0)), v: Math.round(rand() * 1e6) / 100 }
    yield { id: String(n), event: kind, data: obj }
  }
}

/** Wire form of one small event (the same bytes for every contestant). */
export function smallFrame(ev) {
  const head = ev.event === 'message' ? '' : `event: ${ev.event}\n`
  return `${head}id: ${ev.id}\ndata: ${JSON.stringify(ev.data)}\n\n`
}

/** Checksum step for one parsed small event; `obj` is the parsed JSON data. */
export function digestSmall(h, event, id, obj) {
  const t = obj.text
  h = mix(h, obj.n)
  h = mix(h, t.length)
  h = mix(h, t.charCodeAt(t.length - 2))
  h = mix(h, event.length * 131 + event.charCodeAt(0))
  return mix(h, id.length * 257 + id.charCodeAt(id.length - 1))
}

/** The expected count/checksum and the chunked bytes of `count` small events. */
export function smallStream(count, chunkSize, seed = 1) {
  const w = new ChunkWriter(chunkSize)
  let h = HASH_SEED
  let n = 0
  for (const ev of smallEvents(count, seed)) {
    w.write(smallFrame(ev))
    h = digestSmall(h, ev.event, ev.id, ev.data)
    n++
  }
  return { ...w.finish(), count: n, checksum: h }
}

/**
 * Large events: `count` events of about `size` bytes of data, each spread over many `data:` lines
 * of about `lineLen` characters (the parser must join them with "\n").
 */
export function largeStream(count, size, lineLen, chunkSize, seed = 7) {
  const rand = prng(seed)
  const w = new ChunkWriter(chunkSize)
  let h = HASH_SEED
  for (let k = 0; k < count; k++) {
    const lines = []
    let bytes = 0
    while (bytes < size) {
      const line = text(rand, lineLen)
      lines.push(line)
      bytes += line.length + 1
    }
    const id = `big-${k}`
    w.write(`event: chunk\nid: ${id}\n`)
    for (const line of lines) w.write(`data: ${line}\n`)
    w.write('\n')
    h = digestLarge(h, 'chunk', id, lines.join('\n'))
  }
  return { ...w.finish(), count, checksum: h }
}

/** Checksum step for one large event (a few positions of the joined data, not every character). */
export function digestLarge(h, event, id, data) {
  const n = data.length
  h = mix(h, n)
  h = mix(h, data.charCodeAt(n >> 1))
  h = mix(h, data.charCodeAt(n >> 2))
  h = mix(h, data.charCodeAt(n - 1))
  h = mix(h, event.length * 131 + event.charCodeAt(0))
  return mix(h, id.length * 257 + id.charCodeAt(id.length - 1))
}

/**
 * Minimal SSE parser (the baseline). `onEvent(event, data, id)` per dispatched event.
 * @param {(event: string, data: string, id: string) => void} onEvent
 */
export function createBaselineSseParser(onEvent) {
  const decoder = new TextDecoder()
  let buf = ''
  let data
  let event = ''
  let id = ''
  // Field names are recognised by their length and first character instead of slicing them out:
  // the cheapest check that is still exact for the fields this workload (and the spec) defines.
  const line = (l) => {
    if (l.length === 0) {
      if (data !== undefined) onEvent(event || 'message', data, id)
      data = undefined
      event = ''
      return
    }
    const colon = l.indexOf(':')
    if (colon <= 0) return // a comment, or a field without a value (not produced by this workload)
    const start = l.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1
    const c = l.charCodeAt(0)
    if (colon === 4 && c === 100 && l.startsWith('data')) {
      const value = l.slice(start)
      data = data === undefined ? value : `${data}\n${value}`
    } else if (colon === 5 && c === 101 && l.startsWith('event')) event = l.slice(start)
    else if (colon === 2 && c === 105 && l.charCodeAt(1) === 100) id = l.slice(start)
  }
  const scan = () => {
    let start = 0
    for (;;) {
      const nl = buf.indexOf('\n', start)
      if (nl < 0) break
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
      line(buf.slice(start, end))
      start = nl + 1
    }
    buf = start === 0 ? buf : buf.slice(start)
  }
  return {
    /** @param {Uint8Array} bytes */
    feed(bytes) {
      buf += decoder.decode(bytes, { stream: true })
      scan()
    },
    end() {
      buf += decoder.decode()
      scan()
    },
  }
}
