import type { EventStreamMessage } from '@sluice/client'
import { useEventStream } from '@sluice/react'
import { type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import { type ChartPoint, LineChart } from '../components/chart.js'
import { ByteMeter, formatCount, meteredFetch, useBytes } from '../components/meter.js'
import { Card, NetworkPanel, PageHeader, Stat, StatusBadge } from '../components/ui.js'

/** What the server publishes (see playground/server/feed.ts). */
interface Tick {
  seq: number
  value: number
  time: number
}

interface FeedState {
  points: ChartPoint[]
  received: number
  /** Ticks that never arrived: a jump in `seq`. Replay after a reconnect keeps this at 0. */
  gaps: number
  /** Ticks that arrived twice. Also 0: the channel resumes *after* the last id, never at it. */
  duplicates: number
  /** Replayed ticks: published while we were disconnected, delivered after the reconnect. */
  replayed: number
  /** The server said it could not resume exactly (history trimmed): a `sluice-gap` event. */
  resets: number
  lastSeq: number | undefined
}

const CAPACITY = 90
const initialState: FeedState = {
  points: [],
  received: 0,
  gaps: 0,
  duplicates: 0,
  replayed: 0,
  resets: 0,
  lastSeq: undefined,
}

/** Every event's data is JSON (ticks, and the channel's `sluice-gap` signal). */
function parseJson(data: string): unknown {
  return JSON.parse(data)
}

/** Every message is folded here, in order, none coalesced away by rendering. */
function reduceFeed(state: FeedState, message: EventStreamMessage<unknown>): FeedState {
  if (message.event === 'sluice-gap') return { ...state, resets: state.resets + 1, lastSeq: undefined }
  if (message.event !== 'tick') return state
  const tick = message.data as Tick
  if (state.lastSeq !== undefined && tick.seq <= state.lastSeq) return { ...state, duplicates: state.duplicates + 1 }
  const missing = state.lastSeq === undefined ? 0 : tick.seq - state.lastSeq - 1
  // A tick that reaches us well after it was published came from the replay of missed events.
  const replayed = Date.now() - tick.time > 350
  const points = [...state.points, { x: tick.seq, y: tick.value, replayed }].slice(-CAPACITY)
  return {
    ...state,
    points,
    received: state.received + 1,
    gaps: state.gaps + missing,
    replayed: state.replayed + (replayed ? 1 : 0),
    lastSeq: tick.seq,
  }
}

/** How many times `status` has become `open`: 2 after one drop and a successful reconnect. */
function useOpenCount(status: string): number {
  const [count, setCount] = useState(0)
  const previous = useRef<string | undefined>(undefined)
  useEffect(() => {
    if (status === 'open' && previous.current !== 'open') setCount((n) => n + 1)
    previous.current = status
  }, [status])
  return count
}

/** Page 1: a channel fanned out over SSE, resumed with `Last-Event-ID` after a dropped connection. */
export function LiveFeedPage(): ReactElement {
  const meter = useMemo(() => new ByteMeter(), [])
  const bytes = useBytes(meter)
  const fetchWithMeter = useMemo(() => meteredFetch(meter), [meter])
  const [drops, setDrops] = useState(0)
  const [dropping, setDropping] = useState(false)
  const feed = useEventStream('/api/feed', {
    parse: parseJson,
    fetch: fetchWithMeter,
    reduce: reduceFeed,
    initialState,
    retry: { initialDelay: 300, maxDelay: 3000 },
  })
  const state = feed.data
  const connections = useOpenCount(feed.status)
  const latest = state.points.at(-1)

  async function drop(): Promise<void> {
    setDropping(true)
    try {
      const response = await fetch('/api/feed/drop', { method: 'POST' })
      if (response.ok) setDrops((n) => n + 1)
    } finally {
      setDropping(false)
    }
  }

  return (
    <>
      <PageHeader
        kicker="Server-Sent Events · channel · replay"
        title="Live feed"
        tryThis={
          <span>
            Press <strong>Drop connection</strong>: the server ends the stream and stalls reconnections for a second.
            The client reconnects with <code>Last-Event-ID</code> and the channel replays every tick it missed (green
            dots). The gap counter stays at 0.
          </span>
        }
      >
        A ticker publishes a value five times a second into a <code>createChannel()</code>. Each browser subscribes
        through <code>sendEventStream</code> and reads it with <code>useEventStream</code>, folding every event into
        this chart with a reducer.
      </PageHeader>
      <div className="page-grid">
        <div className="stack">
          <Card
            title={
              <span className="row">
                Ticker <StatusBadge status={feed.status} testId="feed-status" />
              </span>
            }
            actions={
              <button type="button" className="primary" onClick={drop} disabled={dropping} data-testid="drop">
                Drop connection
              </button>
            }
          >
            <LineChart points={state.points} capacity={CAPACITY} />
            <div className="legend">
              <span className="l-live">live tick</span>
              <span className="l-replayed">replayed after a reconnect</span>
              <span className="spacer" />
              <span>latest value {latest ? latest.y.toFixed(2) : '–'}</span>
            </div>
          </Card>
          <div className="stats">
            <Stat label="Events received" value={formatCount(state.received)} testId="received" />
            <Stat label="Gaps" value={state.gaps} testId="gaps" tone={state.gaps === 0 ? 'ok' : 'bad'} />
            <Stat
              label="Duplicates"
              value={state.duplicates}
              testId="duplicates"
              tone={state.duplicates === 0 ? 'ok' : 'bad'}
            />
            <Stat label="Replayed" value={formatCount(state.replayed)} testId="replayed" />
          </div>
          {feed.error && feed.status !== 'open' && (
            <div className="alert alert-info" data-testid="feed-error">
              Reconnecting after: {feed.error.message}
            </div>
          )}
        </div>
        <NetworkPanel
          transport="SSE over fetch (GET)"
          endpoint="/api/feed"
          status={feed.status}
          attempt={feed.attempt}
          bytes={bytes}
          rows={[
            ['Last-Event-ID', <code key="id">{feed.lastEventId || '–'}</code>, 'last-event-id'],
            ['Connections opened', connections, 'connections'],
            ['Drops requested', drops],
            ['History resets', state.resets],
          ]}
        />
      </div>
    </>
  )
}
