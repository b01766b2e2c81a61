/**
 * Redis Stream entry ids (https://redis.io/docs/latest/develop/data-types/streams/#entry-ids):
 * `<milliseconds>-<sequence>`, both unsigned 64-bit integers written in canonical decimal. Redis
 * assigns them in strictly increasing order per stream, from its own clock (never below the last
 * id), so they serve as SSE ids directly and stay ordered across every instance that shares the stream.
 */
const STREAM_ID = /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/

/** Whether `id` is a canonical Redis Stream id (`"1732240000000-0"`), the only form Redis returns. */
export function isStreamId(id: string): boolean {
  return STREAM_ID.test(id)
}

/**
 * Orders two canonical stream ids: negative when `a` came first, 0 when equal, positive after.
 * Compared as decimal strings (length, then text) because the parts go up to 2^64 - 1, beyond
 * `Number.MAX_SAFE_INTEGER`.
 */
export function compareStreamIds(a: string, b: string): number {
  const dashA = a.indexOf('-')
  const dashB = b.indexOf('-')
  return compareDecimal(a.slice(0, dashA), b.slice(0, dashB)) || compareDecimal(a.slice(dashA + 1), b.slice(dashB + 1))
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}
