import type { ReactElement } from 'react'

/** One point of the live chart. */
export interface ChartPoint {
  readonly x: number
  readonly y: number
  /** Marks a point delivered by replay after a reconnect. */
  readonly replayed?: boolean
}

const WIDTH = 640
const HEIGHT = 220
const PAD = { top: 16, right: 16, bottom: 24, left: 44 }

/**
 * A dependency-free SVG line chart: a line, a soft area under it, four grid lines and dots on the
 * points that arrived through `Last-Event-ID` replay. Scales to its container (viewBox).
 */
export function LineChart({ points, capacity }: { points: readonly ChartPoint[]; capacity: number }): ReactElement {
  const ys = points.map((p) => p.y)
  const min = ys.length > 0 ? Math.floor(Math.min(...ys) - 2) : 0
  const max = ys.length > 0 ? Math.ceil(Math.max(...ys) + 2) : 100
  const innerW = WIDTH - PAD.left - PAD.right
  const innerH = HEIGHT - PAD.top - PAD.bottom
  const lastX = points.at(-1)?.x ?? 0
  // Fill from the left until the window is full, then scroll.
  const firstX = Math.max(points[0]?.x ?? 0, lastX - capacity + 1)
  const sx = (x: number) => PAD.left + ((x - firstX) / Math.max(1, capacity - 1)) * innerW
  const sy = (y: number) => PAD.top + (1 - (y - min) / Math.max(1, max - min)) * innerH
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('')
  const first = points[0]
  const area =
    first === undefined
      ? ''
      : `${line}L${sx(lastX).toFixed(1)},${PAD.top + innerH}L${sx(first.x).toFixed(1)},${PAD.top + innerH}Z`
  const grid = [0, 1, 2, 3].map((i) => min + ((max - min) * i) / 3)
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Live value">
      <defs>
        <linearGradient id="chart-fill" x1="0" x2="0" y1="0" y2="1">
          <stop offset="0%" stopColor="var(--accent)" stopOpacity="0.28" />
          <stop offset="100%" stopColor="var(--accent)" stopOpacity="0" />
        </linearGradient>
      </defs>
      {grid.map((value) => (
        <g key={value}>
          <line x1={PAD.left} x2={WIDTH - PAD.right} y1={sy(value)} y2={sy(value)} className="chart-grid" />
          <text x={PAD.left - 8} y={sy(value) + 4} className="chart-label" textAnchor="end">
            {value.toFixed(0)}
          </text>
        </g>
      ))}
      <path d={area} fill="url(#chart-fill)" />
      <path d={line} className="chart-line" />
      {points
        .filter((p) => p.replayed)
        .map((p) => (
          <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r={3} className="chart-replayed" />
        ))}
      {points.length === 0 && (
        <text x={WIDTH / 2} y={HEIGHT / 2} className="chart-empty" textAnchor="middle">
          Waiting for the first tick…
        </text>
      )}
      <text x={WIDTH - PAD.right} y={HEIGHT - 6} className="chart-label" textAnchor="end">
        event #{lastX}
      </text>
    </svg>
  )
}
