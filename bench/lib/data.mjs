// Deterministic in-memory workload data. Every generator is driven by a seeded PRNG, so the
// parent (which computes the expected count and checksum) and every child (which parses) see the
// same bytes without any file on disk.

/**
 * mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Deterministic across processes.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-style mix of one 32-bit integer into a running hash. Cheap on purpose: it runs per item. */
export function mix(h, x) {
  return Math.imul(h ^ x, 0x01000193) >>> 0
}

export const HASH_SEED = 0x811c9dc5

// Words with 2-, 3- and 4-byte UTF-8 sequences so that fixed-size chunks regularly cut through a
// character (the decoder must carry the partial sequence over to the next chunk).
const WORDS = [
  'stream',
  'event',
  'retry',
  'café',
  'naïve',
  'Grüße',
  '日本語',
  'данные',
  'λόγος',
  '🚀',
  'emoji😀ok',
  'plain',
  'ascii',
  'tick',
  'quote"d',
  'back\\slash',
]

/** Random text of roughly `len` UTF-16 units drawn from WORDS, non-ASCII included. */
export function text(rand, len) {
  let s = ''
  while (s.length < len) {
    s += WORDS[(rand() * WORDS.length) | 0]
    s += ' '
  }
  return s
}

/** Mostly-ASCII text with a non-ASCII word roughly every `every` characters (or only ASCII words). */
export function sparseText(rand, len, every = 400, ascii = false) {
  const parts = []
  let n = 0
  while (n < len) {
    const run = Math.min(len - n, (rand() * every) | 0)
    parts.push('x'.repeat(run))
    n += run
    // WORDS[3..10] are the non-ASCII words; WORDS[11..14] are ASCII.
    const w = ascii ? WORDS[11 + ((rand() * 4) | 0)] : WORDS[3 + ((rand() * 8) | 0)]
    parts.push(w)
    n += w.length
  }
  return parts.join('')
}

/**
 * Packs encoded text into fixed-size byte chunks as it is produced, so generating a large payload
 * never holds more than the chunks themselves (the memory baseline of a child stays close to the
 * payload size, which keeps the kernel's peak-RSS figure meaningful for the parse that follows).
 */
export class ChunkWriter {
  /** @param {number} chunkSize */
  constructor(chunkSize) {
    this.chunkSize = chunkSize
    /** @type {Uint8Array[]} */
    this.chunks = []
    this.current = new Uint8Array(chunkSize)
    this.pos = 0
    this.bytes = 0
    this.encoder = new TextEncoder()
    this.scratch = new Uint8Array(64 * 1024)
  }

  /** @param {string} s */
  write(s) {
    // Worst case 3 bytes per UTF-16 unit.
    if (s.length * 3 > this.scratch.length) this.scratch = new Uint8Array(s.length * 3)
    const { written } = this.encoder.encodeInto(s, this.scratch)
    let off = 0
    while (off < written) {
      const n = Math.min(written - off, this.chunkSize - this.pos)
      this.current.set(this.scratch.subarray(off, off + n), this.pos)
      this.pos += n
      off += n
      if (this.pos === this.chunkSize) {
        this.chunks.push(this.current)
        this.current = new Uint8Array(this.chunkSize)
        this.pos = 0
      }
    }
    this.bytes += written
  }

  /** @returns {{ chunks: Uint8Array[], bytes: number, splitChars: number }} */
  finish() {
    if (this.pos > 0) this.chunks.push(this.current.slice(0, this.pos))
    this.current = new Uint8Array(0)
    this.scratch = new Uint8Array(0)
    // How many chunk boundaries cut a multi-byte UTF-8 sequence (first byte of the next chunk is a
    // continuation byte 10xxxxxx): proof that the data exercises split characters.
    let splitChars = 0
    for (let i = 1; i < this.chunks.length; i++) {
      const first = this.chunks[i][0]
      if (first !== undefined && (first & 0xc0) === 0x80) splitChars++
    }
    return { chunks: this.chunks, bytes: this.bytes, splitChars }
  }
}

/** Splits one big buffer into `size`-byte chunks (copies, as a network would deliver them). */
export function chunk(buf, size) {
  const out = []
  for (let i = 0; i < buf.length; i += size) out.push(buf.slice(i, i + size))
  return out
}

/**
 * A ReadableStream over pre-generated chunks. `onPull(i)` runs before each chunk is handed over,
 * which is where the memory sampler looks (the consumer is pulling, so the sample is cheap and
 * happens at a real point of the parse).
 * @param {Uint8Array[]} chunks
 * @param {(i: number) => void} [onPull]
 */
export function streamOf(chunks, onPull) {
  let i = 0
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) {
        onPull?.(i)
        controller.enqueue(chunks[i++])
      } else {
        controller.close()
      }
    },
  })
}

/** Async iterable over the same chunks (for parsers that take an async iterable). */
export async function* iterableOf(chunks, onPull) {
  for (let i = 0; i < chunks.length; i++) {
    onPull?.(i)
    yield chunks[i]
  }
}
