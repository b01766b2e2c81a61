// Measurement helpers used inside a measurement child (one fresh `node --expose-gc` process per
// measurement, so one contestant's JIT state, heap and leaked handles never affect another's).

import { performance } from 'node:perf_hooks'

/** Full GC when the child runs with --expose-gc (it always does under bench/run.mjs). */
export function gc() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc()
    globalThis.gc()
  }
}

/**
 * Peak-memory tracker for one measurement. `sample()` is called at points where the consumer is
 * pulling (cheap, real points of the parse); the kernel's high-water mark (`maxRSS`) catches peaks
 * in between, e.g. inside one JSON.parse of a 20 MB line. Generation of the input is streamed into
 * fixed chunks beforehand, so that high-water mark is close to the starting RSS.
 */
export class MemoryTracker {
  constructor() {
    gc()
    const m = process.memoryUsage()
    this.startRss = m.rss
    this.startHeap = m.heapUsed + m.external
    this.peakRss = m.rss
    this.peakHeap = this.startHeap
  }

  sample() {
    const m = process.memoryUsage()
    if (m.rss > this.peakRss) this.peakRss = m.rss
    const heap = m.heapUsed + m.external
    if (heap > this.peakHeap) this.peakHeap = heap
  }

  /** @returns {{ rssPeakDelta: number, heapPeakDelta: number }} bytes above the starting point */
  result() {
    this.sample()
    const maxRss = process.resourceUsage().maxRSS * 1024
    return {
      rssPeakDelta: Math.max(this.peakRss, maxRss) - this.startRss,
      heapPeakDelta: this.peakHeap - this.startHeap,
    }
  }
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = () => performance.now()

/** Wall-clock milliseconds comparable across processes on this machine (for latency). */
export const wallNow = () => performance.timeOrigin + performance.now()

/**
 * Runs `fn` with a warm-up on a smaller input first (same code paths, so the timed run measures a
 * JIT-warm parser, as in a long-lived app), then times the real input.
 * @template T
 * @param {() => Promise<T>} warm
 * @param {() => Promise<T>} timed
 */
export async function warmThenTime(warm, timed) {
  if (warm) await warm()
  gc()
  const t0 = now()
  const value = await timed()
  const ms = now() - t0
  return { value, ms }
}

/**
 * Timed runs per measurement child in the speed-only variants (`BENCH_REPEAT`, default 3). This
 * machine is a shared VM whose speed moves by tens of percent from one second to the next, for
 * every contestant alike; the fastest of a few runs in one fresh process is the least disturbed
 * one (the reasoning of Python's `timeit`: slower repeats are interference, not the code). Every
 * run is checked: runs that disagree make the result WRONG.
 */
export const REPEAT = Math.max(1, Math.floor(Number(process.env.BENCH_REPEAT ?? 3)) || 1)

/**
 * Runs `timedRun` (which returns `{ count, checksum, ms, ... }`) `n` times and returns the fastest,
 * with `repeats: n`; if the runs disagree on count or checksum, a result that fails verification.
 */
export async function fastestOf(timedRun, n = REPEAT) {
  let best
  let first
  for (let i = 0; i < n; i++) {
    const r = await timedRun(i)
    if (first === undefined) first = r
    else if (r.count !== first.count || r.checksum !== first.checksum) {
      return { ...r, checksum: `runs disagree: ${first.checksum} then ${r.checksum}` }
    }
    if (best === undefined || r.ms < best.ms) best = r
  }
  return { ...best, repeats: n }
}
