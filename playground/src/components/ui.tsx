import type { ReactElement, ReactNode } from 'react'
import { formatBytes } from './meter.js'

/** Every status a page shows: the connection states plus the request-style ones. */
export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'idle' | 'done' | 'error' | 'streaming'

const tone: Record<Status, string> = {
  connecting: 'warn',
  reconnecting: 'warn',
  open: 'ok',
  streaming: 'ok',
  done: 'info',
  idle: 'muted',
  closed: 'muted',
  error: 'bad',
}

/** A coloured pill with a dot; `data-status` lets the end-to-end suite wait for a state. */
export function StatusBadge({
  status,
  testId,
  label,
}: {
  status: Status
  testId?: string
  label?: string
}): ReactElement {
  return (
    <span className={`badge badge-${tone[status]}`} data-status={status} data-testid={testId}>
      <span className="badge-dot" />
      {label ?? status}
    </span>
  )
}

/** The page title, what it shows, and what to try. */
export function PageHeader(props: { title: string; kicker: string; children: ReactNode; tryThis: ReactNode }) {
  return (
    <header className="page-header">
      <p className="kicker">{props.kicker}</p>
      <h1>{props.title}</h1>
      <p className="lead">{props.children}</p>
      <div className="try">
        <strong>Try it</strong>
        {props.tryThis}
      </div>
    </header>
  )
}

/** A labelled number; `testId` names it for the end-to-end suite. */
export function Stat(props: {
  label: string
  value: ReactNode
  testId?: string
  tone?: 'ok' | 'bad'
  small?: boolean
}) {
  const className = ['stat', props.tone && `stat-${props.tone}`, props.small && 'stat-small'].filter(Boolean).join(' ')
  return (
    <div className={className}>
      <span className="stat-label">{props.label}</span>
      <span className="stat-value" data-testid={props.testId}>
        {props.value}
      </span>
    </div>
  )
}

/** A card section of a page. */
export function Card(props: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={props.className ? `card ${props.className}` : 'card'}>
      {(props.title !== undefined || props.actions !== undefined) && (
        <div className="card-header">
          <h2>{props.title}</h2>
          <div className="card-actions">{props.actions}</div>
        </div>
      )}
      {props.children}
    </section>
  )
}

/** The "network" panel every page shows: the live connection's status, attempts and bytes. */
export function NetworkPanel(props: {
  transport: string
  endpoint: string
  status: Status
  attempt: number
  /** Bytes received (from a `ByteMeter` via `useBytes`, or a download's progress). */
  bytes: number
  /** Extra rows: label, value, and an optional test id for the value. */
  rows?: ReadonlyArray<readonly [string, ReactNode, string?]>
}): ReactElement {
  const { bytes } = props
  return (
    <aside className="card network" aria-label="Network">
      <div className="card-header">
        <h2>Network</h2>
        <StatusBadge status={props.status} testId="network-status" />
      </div>
      <dl>
        <dt>Transport</dt>
        <dd>{props.transport}</dd>
        <dt>Endpoint</dt>
        <dd>
          <code>{props.endpoint}</code>
        </dd>
        <dt>Reconnect attempts</dt>
        <dd data-testid="network-attempt">{props.attempt}</dd>
        <dt>Bytes received</dt>
        <dd data-testid="network-bytes" data-bytes={bytes}>
          {formatBytes(bytes)}
        </dd>
        {props.rows?.map(([label, value, testId]) => (
          <Row key={label} label={label} value={value} testId={testId} />
        ))}
      </dl>
    </aside>
  )
}

function Row({ label, value, testId }: { label: string; value: ReactNode; testId?: string | undefined }) {
  return (
    <>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </>
  )
}
