/**
 * incrementalJson (the parser of one huge NDJSON line, piece by piece) against JSON.parse of the
 * whole text: same value (key order, "__proto__" as an own key, -0) or both fail, for any chunking
 * (inside multi-byte characters too) and any size at which containers are assembled piece by piece.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { incrementalJson } from '../../packages/client/src/parse/json-incremental.js'
import { splitAt } from '../conformance/chunked.js'

const encoder = new TextEncoder()

/** Parses `text` cut at `cuts` with containers over `split` bytes assembled piece by piece. */
function incremental(text: string | Uint8Array, cuts: readonly number[], split: number): unknown {
  const json = incrementalJson(split)
  for (const part of splitAt(typeof text === 'string' ? encoder.encode(text) : text, cuts)) json.push(part)
  return json.end()
}

type Outcome = { ok: true; value: unknown } | { ok: false }

function outcome(parse: () => unknown): Outcome {
  try {
    return { ok: true, value: parse() }
  } catch (error) {
    expect(error).toBeInstanceOf(SyntaxError)
    return { ok: false }
  }
}

/** Deep equality that also sees key order, prototypes, own "__proto__" keys and -0. */
function expectSame(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected !== 'object' || expected === null) {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} vs ${String(expected)}`).toBe(true)
    return
  }
  expect(typeof actual === 'object' && actual !== null, path).toBe(true)
  expect(Object.getPrototypeOf(actual), path).toBe(Object.getPrototypeOf(expected))
  const keys = Reflect.ownKeys(expected)
  expect(Reflect.ownKeys(actual as object), path).toEqual(keys)
  for (const key of keys) {
    const a = Object.getOwnPropertyDescriptor(actual, key)!
    const e = Object.getOwnPropertyDescriptor(expected, key)!
    expect({ ...a, value: undefined }, `${path}.${String(key)}`).toEqual({ ...e, value: undefined })
    expectSame(a.value, e.value, `${path}.${String(key)}`)
  }
}

/** Compares with JSON.parse of the decoded bytes (what a lone surrogate in `text` is encoded as, too). */
function expectLikeJsonParse(text: string | Uint8Array, cuts: readonly number[], split: number): void {
  const b = typeof text === 'string' ? encoder.encode(text) : text
  const string = new TextDecoder('utf-8', { ignoreBOM: true }).decode(b)
  const expected = outcome(() => JSON.parse(string))
  const actual = outcome(() => incremental(b, cuts, split))
  expect(actual.ok, `${JSON.stringify(string)} cut at ${cuts.join(',')}, split ${split}`).toBe(expected.ok)
  if (actual.ok && expected.ok) expectSame(actual.value, expected.value)
}

const tricky = fc.constantFrom(
  '__proto__',
  '"',
  '\\',
  '\\"',
  'é',
  '€',
  '😀',
  '\u2028',
  '\u0000',
  'a',
  '',
  ' ',
  '{',
  ']',
)
const key = fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 6 }))
const text = fc.oneof(
  tricky,
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.array(tricky, { maxLength: 8 }).map((parts) => parts.join('')),
)
const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -0, 1.5, -1e-7, 1e21, 123456789012345680000),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }),
  ),
}))

/** JSON text of `value` (key/value tuples are objects, duplicate keys kept), whitespace and escapes varied by `rand`. */
function encode(value: unknown, rand: () => number): string {
  const ws = () => (rand() < 0.7 ? '' : [' ', '\t', '\r', '  '][Math.floor(rand() * 4)]!)
  const str = (s: string) => {
    if (rand() < 0.5) return JSON.stringify(s)
    let out = '"'
    for (const ch of JSON.stringify(s)
      .slice(1, -1)
      .match(/\\u[0-9a-f]{4}|\\.|[\s\S]/gu) ?? []) {
      const r = rand()
      if (ch.length === 1 && r < 0.3) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
      else if (ch === '/' || (ch.length === 1 && r < 0.35)) out += ch === '/' ? '\\/' : ch
      else out += ch
    }
    return `${out}"`
  }
  const go = (v: unknown): string => {
    if (typeof v === 'string') return str(v)
    if (!Array.isArray(v)) return JSON.stringify(v)
    if (
      v.length > 0 &&
      Array.isArray(v[0]) &&
      v[0].length === 2 &&
      typeof v[0][0] === 'string' &&
      rand() < 0.6 &&
      v.every((m) => Array.isArray(m) && m.length === 2 && typeof m[0] === 'string')
    )
      return `{${ws()}${v.map(([k, x]) => `${str(k)}${ws()}:${ws()}${go(x)}`).join(`${ws()},${ws()}`)}${ws()}}`
    return `[${ws()}${v.map(go).join(`${ws()},${ws()}`)}${ws()}]`
  }
  return `${ws()}${go(value)}${ws()}`
}

/** Deep nesting: `depth` arrays/objects around a small value. */
function nested(depth: number, rand: () => number): string {
  let open = ''
  let close = ''
  for (let d = 0; d < depth; d++) {
    if (rand() < 0.5) {
      open += '['
      close = `]${close}`
    } else {
      open += '{"__proto__":'
      close = `}${close}`
    }
  }
  return `${open}"é\\"x"${close}`
}

const seed = fc.integer().map((s) => {
  let state = s >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
})
const container = fc
  .tuple(fc.oneof(fc.array(jsonish, { maxLength: 6 }), fc.array(fc.tuple(key, jsonish), { maxLength: 6 })), seed)
  .map(([value, rand]) => encode(value, rand))
const deep = fc.tuple(fc.integer({ min: 1, max: 300 }), seed).map(([depth, rand]) => nested(depth, rand))
const valid = fc.oneof({ weight: 4, arbitrary: container }, { weight: 1, arbitrary: deep })

/** Cut points over the UTF-8 bytes of any text up to 2 KB. */
const cuts = fc.array(fc.nat(2048), { maxLength: 12 })
const split = fc.integer({ min: 1, max: 80 })

/** One edit that usually makes JSON invalid: delete, insert, replace a byte, or cut the end off. */
const mutation = fc.tuple(
  fc.constantFrom('delete', 'insert', 'replace', 'truncate'),
  fc.nat(),
  fc.constantFrom(',', ']', '}', '[', '{', '"', ':', '\\', ' ', 'x', '1', '-', '.', 'e', 'n', '\u00e9', '\n'),
)

function mutate(textValue: string, [kind, at, ch]: [string, number, string]): string {
  const i = textValue.length === 0 ? 0 : at % textValue.length
  if (kind === 'delete') return textValue.slice(0, i) + textValue.slice(i + 1)
  if (kind === 'insert') return textValue.slice(0, i) + ch + textValue.slice(i)
  if (kind === 'replace') return textValue.slice(0, i) + ch + textValue.slice(i + 1)
  return textValue.slice(0, i)
}

describe('incrementalJson', () => {
  it('parses any array/object like JSON.parse, for any chunking and split size', () => {
    fc.assert(
      fc.property(valid, cuts, split, (textValue, at, size) => expectLikeJsonParse(textValue, at, size)),
      { numRuns: 1500 },
    )
  })

  it('fails exactly where JSON.parse fails, for random edits of valid JSON', () => {
    fc.assert(
      fc.property(
        valid,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        cuts,
        split,
        (textValue, edits, at, size) => {
          // Scalars too: the caller hands it only arrays and objects, but it parses any JSON.
          expectLikeJsonParse(
            edits.reduce((t, m) => mutate(t, m), textValue),
            at,
            size,
          )
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('treats bytes that are not UTF-8 as decoding the whole text would', () => {
    const bad = [0xe2, 0x82, 0xff, 0xc3, 0xf0, 0x9f, 0x98]
    fc.assert(
      fc.property(valid, fc.nat(), fc.constantFrom(...bad), cuts, split, (textValue, at, byte, c, size) => {
        const b = encoder.encode(textValue)
        const i = at % (b.byteLength + 1)
        const withBad = new Uint8Array(b.byteLength + 1)
        withBad.set(b.subarray(0, i))
        withBad[i] = byte
        withBad.set(b.subarray(i), i + 1)
        expectLikeJsonParse(withBad, c, size)
      }),
      { numRuns: 1000 },
    )
  })

  it.each([
    ['[1,]'],
    ['[1 2]'],
    ['{"a":1,}'],
    ['{"a" 1}'],
    ['{1:2}'],
    ['[1]x'],
    ['[1][2]'],
    ['["abc'],
    ['["a\\"]'],
    ['[tru]'],
    ['[,1]'],
    ['{"a":}'],
    ['[01]'],
    ['["\\x"]'],
    ['[1]\r'],
    ['  {"__proto__": {"a": [1, "\\u0022", "\\\\"]}}  '],
    ['[[[[[[1]]]]]]'],
  ])('%j: like JSON.parse at every chunking', (textValue) => {
    const length = encoder.encode(textValue).byteLength
    for (let size = 1; size <= 8; size++)
      for (let cut = 0; cut <= length; cut++) expectLikeJsonParse(textValue, [cut, cut + 3], size)
  })

  it('keeps "__proto__" an own data property at the levels it assembles', () => {
    const value = incremental('{"__proto__":{"polluted":true},"a":[{"__proto__":null}]}', [5, 9], 1) as Record<
      string,
      unknown
    >
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.hasOwn(value, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":true},"a":[{"__proto__":null}]}')
  })

  it('assembles an array of rows bigger than the split size and keeps the head of the text for excerpts', () => {
    const json = incrementalJson(16)
    const row = `{"text":"${'é'.repeat(50)}"}`
    const chunk = encoder.encode(`[${row},`)
    json.push(chunk)
    for (let i = 0; i < 50; i++) json.push(encoder.encode(`${row},`))
    json.push(encoder.encode(`${row}]`))
    const value = json.end() as { text: string }[]
    expect(value).toHaveLength(52)
    expect(value[51]!.text).toBe('é'.repeat(50))
    expect(json.head().startsWith(`[${row}`)).toBe(true)
  })
})
