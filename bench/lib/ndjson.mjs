// NDJSON workload data and the hand-written baseline parser.

import { ChunkWriter, HASH_SEED, mix, prng, sparseText, text } from './data.mjs'

/** Checksum step for one small record. */
export function digestRecord(h, o) {
  h = mix(h, o.id)
  h = mix(h, o.name.length)
  h = mix(h, o.name.charCodeAt(o.name.length - 2))
  h = mix(h, o.tags.length)
  return mix(h, o.ok ? 1 : 2)
}

/** `count` lines of ~100-byte objects, chunked. */
export function smallLines(count, chunkSize, seed = 3) {
  const rand = prng(seed)
  const w = new ChunkWriter(chunkSize)
  let h = HASH_SEED
  for (let id = 0; id < count; id++) {
    const tags = []
    const nt = (rand() * 3) | 0
    for (let t = 0; t < nt; t++) tags.push(text(rand, 3).trim())
    const o = {
      id,
      name: text(rand, 12 + ((rand() * 24) | 0)),
      tags,
      score: Math.round(rand() * 1e5) / 100,
      ok: rand() < 0.5,
    }
    w.write(`${JSON.stringify(o)}\n`)
    h = digestRecord(h, o)
  }
  return { ...w.finish(), count, checksum: h }
}

/** Checksum of the one huge value. */
export function digestHuge(h, v) {
  const rows = v.rows
  h = mix(h, rows.length)
  for (const r of rows) {
    h = mix(h, r.i)
    h = mix(h, r.text.length)
    h = mix(h, r.text.charCodeAt(r.text.length - 1))
  }
  return h
}

/**
 * One line of about `size` bytes: `{"rows":[{"i":0,"text":"…"},…]}` (rows of ~20 KB of mostly ASCII
 * text with a non-ASCII word every few hundred characters, or ASCII only), chunked. Generated row by row straight
 * into the chunks, so producing it never holds a second copy.
 */
export function hugeLine(size, chunkSize, seed = 5, ascii = false) {
  const rand = prng(seed)
  const w = new ChunkWriter(chunkSize)
  let h = HASH_SEED
  const rowSize = 20_000
  const n = Math.max(1, Math.round(size / rowSize))
  h = mix(h, n)
  w.write('{"rows":[')
  for (let i = 0; i < n; i++) {
    const t = sparseText(rand, rowSize - 20, 400, ascii)
    w.write(`${i ? ',' : ''}{"i":${i},"text":${JSON.stringify(t)}}`)
    h = mix(h, i)
    h = mix(h, t.length)
    h = mix(h, t.charCodeAt(t.length - 1))
  }
  w.write(']}\n')
  return { ...w.finish(), count: 1, checksum: h }
}

/**
 * The baseline contestant end to end: reads `stream` with its own reader and feeds every chunk to
 * {@link createBaselineNdjsonParser} (the one copy of this loop for the benchmark and the profilers).
 */
export async function readBaselineNdjson(stream, onValue) {
  const p = createBaselineNdjsonParser(onValue)
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    p.feed(value)
  }
  p.end()
}

/**
 * Minimal NDJSON parser (the baseline): streaming TextDecoder, a newline search only in the newly
 * decoded text, the pieces of a line that spans chunks kept in an array and joined once when its
 * newline arrives (linear for any line length), JSON.parse per non-empty line. (Keeping the bytes
 * and decoding each line once measured slower here on both workloads.) Returns `{ feed, end }`.
 * @param {(value: unknown) => void} onValue
 */
export function createBaselineNdjsonParser(onValue) {
  const decoder = new TextDecoder()
  /** Decoded text of the line being received, in pieces. */
  let pending = []
  const emit = (line) => {
    const end = line.charCodeAt(line.length - 1) === 13 ? line.length - 1 : line.length
    if (end > 0) onValue(JSON.parse(end === line.length ? line : line.slice(0, end)))
  }
  const push = (s) => {
    let start = 0
    let nl = s.indexOf('\n')
    while (nl >= 0) {
      const piece = s.slice(start, nl)
      if (pending.length) {
        pending.push(piece)
        emit(pending.join(''))
        pending = []
      } else emit(piece)
      start = nl + 1
      nl = s.indexOf('\n', start)
    }
    if (start < s.length) pending.push(start === 0 ? s : s.slice(start))
  }
  return {
    feed: (bytes) => push(decoder.decode(bytes, { stream: true })),
    end: () => {
      push(decoder.decode())
      if (pending.length) emit(pending.join(''))
      pending = []
    },
  }
}
