import type {
  Channel,
  ChannelEvent,
  ChannelGapMessage,
  ChannelMessage,
  ChannelStore,
  ChannelSubscription,
} from '@sluice/server-kit'
import { createChannel, createMemoryStore } from '@sluice/server-kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

/**
 * A real asynchronous store (the memory store behind turns of the event loop), so that appends,
 * replay reads and fan-out interleave the way they do with a network store such as Redis. With
 * `watch`, fan-out comes from the store, as it would across processes.
 */
function createAsyncStore(pauses: readonly number[], watch: boolean, maxSize = 10_000): ChannelStore<number> {
  const inner = createMemoryStore<number>({ maxSize })
  const watchers = new Set<(message: ChannelMessage<number>) => void>()
  let turn = 0
  const pause = async () => {
    const count = pauses.length === 0 ? 0 : (pauses[turn++ % pauses.length] ?? 0)
    for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const store: ChannelStore<number> = {
    compare: inner.compare,
    async append(init) {
      await pause()
      const id = inner.append(init)
      const [message] = inner.readAfter(String(Number(id) - 1), 1).messages
      for (const notify of watchers) notify(message!)
      await pause()
      return id
    },
    async readAfter(lastEventId, limit) {
      await pause()
      const read = inner.readAfter(lastEventId, limit)
      await pause()
      return read
    },
  }
  if (watch) {
    store.watch = (onMessage) => {
      watchers.add(onMessage)
      return () => watchers.delete(onMessage)
    }
  }
  return store
}

/** Resolves with `promise`, or fails instead of hanging if the channel never delivers a message that exists. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no message within ${ms} ms: a gap`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A consumer like the stream pump: at most one `next()` outstanding, messages handled in order,
 * reconnecting from its last id when the channel ends it (it fell behind `maxQueue`) or when the
 * test drops it.
 */
class Client {
  readonly received: ChannelMessage<number>[] = []
  /** Everything received, gap signals included, in order. */
  readonly log: ChannelEvent<number>[] = []
  subscription: ChannelSubscription<number>
  pending: Promise<void> | undefined
  readonly #channel: Channel<number, string | Promise<string>>
  readonly #seed: string
  readonly #allowGaps: boolean

  constructor(channel: Channel<number, string | Promise<string>>, seed: string, allowGaps = false) {
    this.#channel = channel
    this.#seed = seed
    this.#allowGaps = allowGaps
    this.subscription = channel.subscribe({ lastEventId: seed })
  }

  /** Asks for the next message unless a request is already outstanding. */
  pull(): Promise<void> {
    if (this.pending !== undefined) return this.pending
    const subscription = this.subscription
    this.pending = subscription.next().then((result) => {
      this.pending = undefined
      if (!result.done) {
        this.log.push(result.value)
        if (result.value.id === undefined) {
          if (!this.#allowGaps) expect.fail(`unexpected gap signal: ${JSON.stringify(result.value)}`)
        } else this.received.push(result.value)
      } else if (subscription === this.subscription) {
        // Ended by the channel for falling behind: reconnect from the last id, as a client would.
        this.#resume()
      }
    })
    return this.pending
  }

  /** Disconnects (the pump's return()) and reconnects from the last id received. */
  async drop(): Promise<void> {
    const subscription = this.subscription
    await subscription.return()
    // A message already on its way is handled before reconnecting, as a client handles the bytes
    // it has read before it notices the connection closed.
    await this.pending
    if (subscription === this.subscription) this.#resume()
  }

  #resume(): void {
    this.subscription = this.#channel.subscribe({ lastEventId: this.received.at(-1)?.id ?? this.#seed })
  }
}

type Step = { kind: 'publish' } | { kind: 'pull'; who: number } | { kind: 'drop'; who: number }

const stepArbitrary = (subscribers: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant<Step>({ kind: 'publish' }) },
    { weight: 4, arbitrary: fc.nat(subscribers - 1).map<Step>((who) => ({ kind: 'pull', who })) },
    { weight: 1, arbitrary: fc.nat(subscribers - 1).map<Step>((who) => ({ kind: 'drop', who })) },
  )

const scenario = fc.integer({ min: 1, max: 4 }).chain((subscribers) =>
  fc.record({
    subscribers: fc.constant(subscribers),
    steps: fc.array(stepArbitrary(subscribers), { maxLength: 60 }),
    maxQueue: fc.integer({ min: 1, max: 8 }),
    replayPageSize: fc.integer({ min: 1, max: 4 }),
    store: fc.constantFrom('memory', 'async', 'async-watch'),
    pauses: fc.array(fc.nat(2), { minLength: 1, maxLength: 7 }),
    // Turns of the event loop the test lets pass after a step, so appends, reads and fan-outs of
    // the asynchronous stores overlap with pulls and drops in many different orders.
    settle: fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }),
  }),
)

/**
 * A bound for the whole property (200 runs of at most 60 steps, each awaited step bounded by 2 s):
 * a few seconds alone, more when every test file runs in parallel on a loaded machine.
 */
const PROPERTY_TIMEOUT = 60_000

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('channel property', () => {
  it(
    'subscribers that disconnect at random points and resume from their last id together receive exactly the published sequence',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ subscribers, steps, maxQueue, replayPageSize, store, pauses, settle }) => {
          const channel: Channel<number, string | Promise<string>> =
            store === 'memory'
              ? createChannel<number>({ maxQueue, replayPageSize })
              : createChannel<number>({
                  maxQueue,
                  replayPageSize,
                  store: createAsyncStore(pauses, store === 'async-watch'),
                })
          const published = new Map<string, number>()
          const publishing: Promise<unknown>[] = []
          const publish = (n: number) => {
            const id = channel.publish(n)
            if (typeof id === 'string') published.set(id, n)
            else publishing.push(id.then((value) => published.set(value, n)))
          }
          publish(0)
          await Promise.all(publishing)
          const seed = [...published.keys()][0]!
          const clients = Array.from({ length: subscribers }, () => new Client(channel, seed))

          let n = 1
          for (const [index, step] of steps.entries()) {
            if (step.kind === 'publish') publish(n++)
            else if (step.kind === 'drop') await within(clients[step.who]!.drop(), 2000)
            // Not awaited: the request stays outstanding while the test goes on, like a pump's pull.
            else void clients[step.who]!.pull()
            for (let i = settle[index % settle.length]!; i > 0; i--) await turn()
          }
          await Promise.all(publishing)
          const expected = [...published.entries()]
            .filter(([id]) => id !== seed)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([id, data]) => ({ id, data }))
          for (const client of clients) {
            while (client.received.length < expected.length) await within(client.pull(), 2000)
            expect(client.received).toEqual(expected)
            await client.drop()
          }
          channel.close()
          expect(channel.subscriberCount).toBe(0)
        }),
        { numRuns: 200 },
      )
    },
    PROPERTY_TIMEOUT,
  )

  it(
    'with a short history, no message is ever missed silently: every hole in what a subscriber receives follows a gap signal',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          scenario,
          fc.integer({ min: 1, max: 6 }),
          async ({ subscribers, steps, maxQueue, replayPageSize, store, pauses, settle }, historySize) => {
            const channel: Channel<number, string | Promise<string>> =
              store === 'memory'
                ? createChannel<number>({
                    maxQueue,
                    replayPageSize,
                    store: createMemoryStore({ maxSize: historySize }),
                  })
                : createChannel<number>({
                    maxQueue,
                    replayPageSize,
                    store: createAsyncStore(pauses, store === 'async-watch', historySize),
                  })
            const published = new Map<string, number>()
            const publishing: Promise<unknown>[] = []
            const publish = (n: number) => {
              const id = channel.publish(n)
              if (typeof id === 'string') published.set(id, n)
              else publishing.push(id.then((value) => published.set(value, n)))
            }
            publish(0)
            await Promise.all(publishing)
            const seed = [...published.keys()][0]!
            const clients = Array.from({ length: subscribers }, () => new Client(channel, seed, true))

            let n = 1
            for (const [index, step] of steps.entries()) {
              if (step.kind === 'publish') publish(n++)
              else if (step.kind === 'drop') await within(clients[step.who]!.drop(), 2000)
              else void clients[step.who]!.pull()
              for (let i = settle[index % settle.length]!; i > 0; i--) await turn()
            }
            await Promise.all(publishing)
            const lastId = String(Math.max(...[...published.keys()].map(Number)))
            for (const client of clients) {
              // Until it holds the last message (nothing to wait for when only the seed was published).
              while (lastId !== seed && client.received.at(-1)?.id !== lastId) await within(client.pull(), 2000)
              let previous = Number(seed)
              let gap: ChannelGapMessage | undefined
              for (const event of client.log) {
                if (event.id === undefined) {
                  // The signal names the id the subscriber resumed from.
                  expect(event.data.lastEventId).toBe(String(previous))
                  gap = event
                  continue
                }
                expect(published.get(event.id)).toBe(event.data)
                const id = Number(event.id)
                if (gap === undefined) expect(id).toBe(previous + 1)
                else {
                  // A gap signal may be conservative (the history was trimmed while a replay read
                  // it, but the live queue had the messages): what follows is still in order.
                  expect(id).toBeGreaterThan(previous)
                  if (gap.data.nextId !== null) expect(event.id).toBe(gap.data.nextId)
                }
                previous = id
                gap = undefined
              }
              await client.drop()
            }
            channel.close()
            expect(channel.subscriberCount).toBe(0)
          },
        ),
        { numRuns: 200 },
      )
    },
    PROPERTY_TIMEOUT,
  )
})
