import { useNdjson } from '@sluice/react'
import { type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import { ByteMeter, formatCount, meteredFetch, useBytes } from '../components/meter.js'
import { Card, NetworkPanel, PageHeader, Stat, StatusBadge } from '../components/ui.js'

/** One generated row (see playground/server/rows.ts). */
interface DataRow {
  id: number
  customer: string
  city: string
  amount: number
  status: 'paid' | 'pending' | 'refunded'
}

interface LoadState {
  count: number
  /** The newest rows, newest first; bounded so memory does not grow with the stream. */
  latest: DataRow[]
  startedAt: number
  lastAt: number
}

const TOTAL = 100_000
const LATEST = 10

function initial(): LoadState {
  return { count: 0, latest: [], startedAt: 0, lastAt: 0 }
}

/** Runs for each of the 100,000 rows; renders are throttled separately (`throttle`). */
function reduceRows(state: LoadState, row: DataRow): LoadState {
  const now = performance.now()
  const latest = state.latest.length < LATEST ? [row, ...state.latest] : [row, ...state.latest.slice(0, LATEST - 1)]
  return {
    count: state.count + 1,
    latest,
    startedAt: state.count === 0 ? now : state.startedAt,
    lastAt: now,
  }
}

/** Frames per second of the main thread, to show that the page stays responsive while loading. */
function useFrameRate(): number {
  const [fps, setFps] = useState(0)
  useEffect(() => {
    let frames = 0
    let since = performance.now()
    let handle = requestAnimationFrame(function count(now) {
      frames++
      if (now - since >= 500) {
        setFps(Math.round((frames * 1000) / (now - since)))
        frames = 0
        since = now
      }
      handle = requestAnimationFrame(count)
    })
    return () => cancelAnimationFrame(handle)
  }, [])
  return fps
}

/** Page 3: 100,000 NDJSON rows, folded one by one, rendered at most ten times a second. */
export function BigDataPage(): ReactElement {
  const meter = useMemo(() => new ByteMeter(), [])
  const bytes = useBytes(meter)
  const fetchWithMeter = useMemo(() => meteredFetch(meter), [meter])
  const [run, setRun] = useState(0)
  const fps = useFrameRate()
  const rows = useNdjson<DataRow, LoadState>(run === 0 ? null : `/api/rows?count=${TOTAL}&run=${run}`, {
    reduce: reduceRows,
    initialState: useMemo(initial, []),
    // 100,000 messages, about 10 renders a second: React never sees the message rate.
    throttle: 100,
    fetch: fetchWithMeter,
    // NDJSON has no resume protocol of its own: if the connection breaks mid-way, ask for the rows
    // after the last one received (a cursor), so none is loaded twice. A normal end just closes.
    resume: (last, info) =>
      info.error === undefined ? false : `/api/rows?count=${TOTAL}&run=${run}&after=${last?.id ?? 0}`,
  })
  const state = rows.data
  // Counted during render on purpose: it is what throttling bounds (shown, and read by the e2e suite).
  const renders = useRef(0)
  renders.current++
  const done = state.count >= TOTAL
  const seconds = (state.lastAt - state.startedAt) / 1000
  const rate = seconds > 0 ? Math.round(state.count / seconds) : 0
  const percent = Math.min(100, (state.count / TOTAL) * 100)
  const status = run === 0 ? 'idle' : done ? 'done' : rows.status

  return (
    <>
      <PageHeader
        kicker="NDJSON · throttled renders"
        title="Big data"
        tryThis={
          <span>
            Press <strong>Load 100,000 rows</strong> and watch the render count: every row goes through the reducer, but
            the page re-renders at most ten times a second, so scrolling and clicking stay smooth.
          </span>
        }
      >
        The server streams rows with <code>sendNdjson</code> as fast as the socket drains (backpressure, no buffering of
        the whole set). The page reads them with <code>useNdjson</code>, a <code>reduce</code> that keeps only counters
        and the latest rows, and <code>throttle: 100</code>.
      </PageHeader>
      <div className="page-grid">
        <div className="stack">
          <Card
            title={
              <span className="row">
                Rows <StatusBadge status={status} testId="rows-status" />
              </span>
            }
            actions={
              <button
                type="button"
                className="primary"
                onClick={() => setRun((n) => n + 1)}
                disabled={run !== 0 && !done && rows.status !== 'closed'}
                data-testid="load"
              >
                {run === 0 ? 'Load 100,000 rows' : 'Load again'}
              </button>
            }
          >
            <div
              className="progress"
              role="progressbar"
              aria-valuenow={Math.round(percent)}
              aria-valuemin={0}
              aria-valuemax={100}
            >
              <div style={{ width: `${percent}%` }} />
            </div>
            <div className="progress-caption">
              <span data-testid="row-count" data-count={state.count}>
                {formatCount(state.count)} / {formatCount(TOTAL)} rows
              </span>
              <span>{percent.toFixed(0)}%</span>
            </div>
          </Card>
          <div className="stats">
            <Stat label="Rows / s" value={formatCount(rate)} testId="rows-per-second" />
            <Stat label="Elapsed" value={`${seconds.toFixed(2)} s`} />
            <Stat label="UI frame rate" value={`${fps} fps`} testId="fps" />
            <Stat label="Renders" value={formatCount(renders.current)} testId="renders" />
          </div>
          {rows.error && (
            <div className="alert alert-bad" role="alert">
              {rows.error.message}
            </div>
          )}
          <Card title="Latest rows">
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th className="num">#</th>
                    <th>Customer</th>
                    <th>City</th>
                    <th>Status</th>
                    <th className="num">Amount</th>
                  </tr>
                </thead>
                <tbody data-testid="latest-rows">
                  {state.latest.length === 0 && (
                    <tr>
                      <td colSpan={5} className="muted">
                        Nothing loaded yet.
                      </td>
                    </tr>
                  )}
                  {state.latest.map((row) => (
                    <tr key={row.id}>
                      <td className="num">{formatCount(row.id)}</td>
                      <td>{row.customer}</td>
                      <td>{row.city}</td>
                      <td>{row.status}</td>
                      <td className="num">${row.amount.toFixed(2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        </div>
        <NetworkPanel
          transport="NDJSON over fetch"
          endpoint="/api/rows"
          status={status}
          attempt={rows.attempt}
          bytes={bytes}
          rows={[['Render throttle', '100 ms']]}
        />
      </div>
    </>
  )
}
