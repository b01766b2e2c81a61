import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendNdjson } from '@sluice/server-kit'

/** One generated row of the big-data page. */
export interface DataRow {
  readonly id: number
  readonly customer: string
  readonly city: string
  readonly amount: number
  readonly status: 'paid' | 'pending' | 'refunded'
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen']
const CITIES = ['Lisbon', 'Nairobi', 'Osaka', 'Lima', 'Oslo', 'Austin', 'Pune', 'Lyon', 'Perth', 'Quito', 'Accra']
const STATUSES = ['paid', 'paid', 'paid', 'pending', 'refunded'] as const

/** Row `id`, always the same for the same id (so a resumed download continues seamlessly). */
export function makeRow(id: number): DataRow {
  // A cheap integer hash spreads the fields without a random generator.
  const h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  return {
    id,
    customer: `${FIRST[h % FIRST.length]} ${LAST[(h >>> 8) % LAST.length]}`,
    city: CITIES[(h >>> 16) % CITIES.length]!,
    amount: ((h % 100_000) + 100) / 100,
    status: STATUSES[(h >>> 4) % STATUSES.length]!,
  }
}

/** Most rows one request may ask for: the page asks for 100,000. */
export const MAX_ROWS = 1_000_000

/**
 * `GET /api/rows?count=N&after=ID`: rows `after + 1 .. count` as NDJSON, one JSON object per line.
 * `after` is the resume cursor: a client that lost the connection asks for the rest only.
 */
export function serveRows(req: IncomingMessage, res: ServerResponse, shutdown: AbortSignal): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const count = Number(url.searchParams.get('count') ?? '100000')
  const after = Number(url.searchParams.get('after') ?? '0')
  if (!Number.isInteger(count) || count < 0 || count > MAX_ROWS || !Number.isInteger(after) || after < 0) {
    res
      .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`"count" must be an integer from 0 to ${MAX_ROWS} and "after" a non-negative integer`)
    return Promise.resolve()
  }
  return sendNdjson(
    req,
    res,
    function* () {
      for (let id = after + 1; id <= count; id++) yield makeRow(id)
    },
    { signal: shutdown, headers: { 'x-total-count': String(count) } },
  )
}
