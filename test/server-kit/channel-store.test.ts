import { createMemoryStore } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'

describe('createMemoryStore', () => {
  it('costs what it holds, not its bound (many small histories, e.g. resumable answers)', () => {
    const before = process.memoryUsage().heapUsed
    // 1,000 stores bounded at 10,000 messages, each holding one: a store that reserved its bound up
    // front would hold 1,000 x 10,000 slots (~80 MB); one that grows holds 1,000 messages.
    const stores = Array.from({ length: 1_000 }, () => {
      const store = createMemoryStore<string>({ maxSize: 10_000, firstId: 1 })
      store.append({ data: 'x' })
      return store
    })
    const grown = process.memoryUsage().heapUsed - before
    expect(stores).toHaveLength(1_000)
    expect(grown).toBeLessThan(20 * 1024 * 1024)
  })

  it('wraps around its bound keeping exactly the newest messages, from any first id', () => {
    for (const firstId of [1, 7, 1_000_003]) {
      const store = createMemoryStore<number>({ maxSize: 4, firstId })
      const ids = Array.from({ length: 11 }, (_, n) => store.append({ data: n }))
      const { messages, gap } = store.readAfter(String(firstId - 1), 100)
      expect(gap).toBe('trimmed')
      expect(messages.map((m) => m.data)).toEqual([7, 8, 9, 10])
      expect(messages.map((m) => m.id)).toEqual(ids.slice(7))
      expect(store.readAfter(ids[8]!, 100).messages.map((m) => m.data)).toEqual([9, 10])
    }
  })
})
