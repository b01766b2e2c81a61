import type { IncomingMessage, ServerResponse } from 'node:http'
import { createChannel, sendEventStream } from '@sluice/server-kit'

/** One tick of the live feed. `seq` increases by exactly 1, so the browser can count gaps. */
export interface Tick {
  readonly seq: number
  readonly value: number
  /** Server time of publication (ms since epoch). */
  readonly time: number
}

/** How often the feed ticks. Fast enough to look alive, slow enough to read. */
const TICK_MS = 200
/** How long reconnections wait after a drop. */
const OUTAGE_MS = 1000

/**
 * The live feed: a ticker publishes into a channel; every `GET /api/feed` subscribes from the
 * client's `Last-Event-ID`, so a client that was cut off gets every tick it missed, then live ones.
 */
export class Feed {
  readonly #channel = createChannel<Tick>()
  /** Aborting it ends every feed stream that is open now; replaced on each drop. */
  #drop = new AbortController()
  readonly #timer: ReturnType<typeof setInterval>
  #seq = 0
  #phase = 0
  #drops = 0
  #resumes = 0
  /** Until when new feed requests wait before being served (a server coming back after a drop). */
  #outageUntil = 0

  constructor(private readonly shutdown: AbortSignal) {
    this.#timer = setInterval(() => this.#tick(), TICK_MS)
  }

  #tick(): void {
    this.#seq++
    // A smooth, bounded signal with a little deterministic wobble: easy to see a missing point.
    this.#phase += 0.18
    const value = 50 + 22 * Math.sin(this.#phase) + 7 * Math.sin(this.#phase * 3.7 + 1) + 3 * Math.cos(this.#seq * 1.3)
    this.#channel.publish({ seq: this.#seq, value: Math.round(value * 100) / 100, time: Date.now() }, { event: 'tick' })
  }

  /** `GET /api/feed`: an SSE stream of ticks, resumable with `Last-Event-ID`. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wait = this.#outageUntil - Date.now()
    if (wait > 0) {
      // Hold the request (the client stays "connecting"), so ticks pile up that replay must fill.
      const shutdown = this.shutdown
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait)
        res.once('close', done)
        shutdown.addEventListener('abort', done, { once: true })
        // Whichever comes first releases all three, so nothing outlives the wait.
        function done(): void {
          clearTimeout(timer)
          res.off('close', done)
          shutdown.removeEventListener('abort', done)
          resolve()
        }
      })
      if (res.destroyed || this.shutdown.aborted) return
    }
    return sendEventStream(
      req,
      res,
      ({ lastEventId, signal }) => {
        if (lastEventId !== undefined) this.#resumes++
        // Ending the subscription ends the response: on client exit (`signal`) or on a drop.
        return this.#channel.subscribe({ lastEventId, signal: AbortSignal.any([signal, this.#drop.signal]) })
      },
      {
        signal: this.shutdown,
        // A short server-suggested reconnect delay keeps the "drop" demo snappy.
        retry: 500,
      },
    )
  }

  /**
   * `POST /api/feed/drop`: ends every open feed stream, as a server restart or a proxy timeout
   * would, and holds reconnections for {@link OUTAGE_MS}: the client has to reconnect and resume,
   * and about five ticks are published meanwhile, which only `Last-Event-ID` replay can deliver.
   *
   * The streams end with a clean end of body rather than a TCP reset: both make the client
   * reconnect the same way, but a reset also makes the browser log a red network error in the
   * console, which would hide real errors on this page.
   */
  drop(): number {
    const count = this.#channel.subscriberCount
    this.#outageUntil = Date.now() + OUTAGE_MS
    this.#drop.abort()
    this.#drop = new AbortController()
    this.#drops++
    return count
  }

  stats(): { subscribers: number; lastSeq: number; drops: number; resumes: number } {
    return {
      subscribers: this.#channel.subscriberCount,
      lastSeq: this.#seq,
      drops: this.#drops,
      resumes: this.#resumes,
    }
  }

  close(): void {
    clearInterval(this.#timer)
    this.#channel.close()
  }
}
