import { DEFAULT_RETRY_OPTIONS } from '@sluice/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseRetryAfter, RetryPolicy } from '../../packages/client/src/connection/retry.js'

describe('RetryPolicy', () => {
  it('documents its defaults', () => {
    expect(DEFAULT_RETRY_OPTIONS).toEqual({
      initialDelay: 1000,
      maxDelay: 30_000,
      factor: 2,
      maxAttempts: Number.POSITIVE_INFINITY,
      minUptime: 5000,
      jitter: true,
    })
  })

  it('grows the ceiling exponentially up to the cap', () => {
    const policy = new RetryPolicy({ initialDelay: 100, factor: 2, maxDelay: 1000 })
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => policy.ceiling(n))).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
  })

  it('full jitter: each delay is uniform in [0, ceiling]; the extremes of random() give the bounds', () => {
    const low = new RetryPolicy({ initialDelay: 100 }, () => 0)
    const high = new RetryPolicy({ initialDelay: 100 }, () => 0.999_999_9)
    expect(low.delay(3)).toBe(0)
    expect(high.delay(3)).toBe(400)
  })

  it('property: a delay is always an integer within [0, min(cap, initial * factor^(n-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialDelay, maxDelay, factor, attempt, r) => {
          const delay = new RetryPolicy({ initialDelay, maxDelay, factor }, () => r).delay(attempt)
          const bound = Math.min(Math.max(maxDelay, initialDelay), initialDelay * factor ** (attempt - 1))
          return delay !== undefined && Number.isInteger(delay) && delay >= 0 && delay <= Math.ceil(bound)
        },
      ),
    )
  })

  it('jitter: false waits exactly the ceiling', () => {
    const policy = new RetryPolicy({ initialDelay: 100, jitter: false })
    expect([1, 2, 3].map((n) => policy.delay(n))).toEqual([100, 200, 400])
  })

  it('gives up after maxAttempts; retry: false never retries', () => {
    const policy = new RetryPolicy({ maxAttempts: 2 })
    expect(policy.delay(1)).toBeTypeOf('number')
    expect(policy.delay(2)).toBeTypeOf('number')
    expect(policy.delay(3)).toBeUndefined()
    expect(new RetryPolicy(false).delay(1)).toBeUndefined()
  })

  it("the server's retry: replaces the initial delay, and is never cut by maxDelay", () => {
    const policy = new RetryPolicy({ initialDelay: 1000, maxDelay: 5000, jitter: false })
    policy.serverDelay = 200
    expect([1, 2, 3].map((n) => policy.delay(n))).toEqual([200, 400, 800])
    policy.serverDelay = 60_000
    expect(policy.delay(1)).toBe(60_000)
  })

  it('Retry-After is a floor on the delay', () => {
    const policy = new RetryPolicy({ initialDelay: 100 }, () => 0)
    expect(policy.delay(1, 2000)).toBe(2000)
    expect(new RetryPolicy({ initialDelay: 5000, jitter: false }).delay(1, 2000)).toBe(5000)
  })

  it('rejects nonsense options with a TypeError naming the option', () => {
    expect(() => new RetryPolicy({ initialDelay: -1 })).toThrow(/retry\.initialDelay/)
    expect(() => new RetryPolicy({ factor: 0.5 })).toThrow(/retry\.factor must be a number >= 1/)
    expect(() => new RetryPolicy({ maxAttempts: Number.NaN })).toThrow(/retry\.maxAttempts/)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
  })
  it('reads an HTTP-date, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0)
  })
  it('ignores absent and malformed values', () => {
    for (const value of [null, undefined, '', '-1', '1.5', 'soon', '12abc']) {
      expect(parseRetryAfter(value, now)).toBeUndefined()
    }
  })
})
