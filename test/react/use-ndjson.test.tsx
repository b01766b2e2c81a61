import { useNdjson } from '@sluice/react'
import { cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, test } from 'vitest'
import { type StreamServer, startStreamServer } from './helpers.js'

type Row = { id: number }

let server: StreamServer | undefined

afterEach(async () => {
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server?.close()
  server = undefined
})

const text = (id: string) => screen.getByTestId(id).textContent

function Rows({ url, maxItems, throttle = 0 }: { url: string | null; maxItems?: number; throttle?: number }) {
  const { data, status, error } = useNdjson<Row>(url, { retry: false, throttle, maxItems })
  return (
    <div>
      <p data-testid="status">{status}</p>
      <p data-testid="ids">{data.map((row) => row.id).join(',')}</p>
      <p data-testid="error">{error ? `${error.name} ${error.message}` : '-'}</p>
    </div>
  )
}

function Totals({ url }: { url: string }) {
  const { data, status } = useNdjson<Row, { count: number; sum: number }>(url, {
    retry: false,
    reduce: (totals, row) => ({ count: totals.count + 1, sum: totals.sum + row.id }),
    initialState: { count: 0, sum: 0 },
  })
  return <p data-testid="totals">{`${status} ${data.count} ${data.sum}`}</p>
}

describe('useNdjson', () => {
  test('accumulates the items as they arrive (progressive loading) and ends closed without error', async () => {
    server = await startStreamServer({ kind: 'ndjson' })
    render(<Rows url={`${server.url}/rows`} />)
    expect(text('ids')).toBe('')
    const stream = await server.nth(1)
    stream.line({ id: 1 })
    await waitFor(() => expect(text('ids')).toBe('1'))
    stream.line({ id: 2 })
    stream.line({ id: 3 })
    await waitFor(() => expect(text('ids')).toBe('1,2,3'))
    expect(text('status')).toBe('open')
    stream.res.end()
    await waitFor(() => expect(text('status')).toBe('closed'))
    expect(text('ids')).toBe('1,2,3')
    expect(text('error')).toBe('-')
  })

  test('maxItems keeps the most recent items only', async () => {
    server = await startStreamServer({
      kind: 'ndjson',
      onStream: (s) => {
        for (let id = 1; id <= 25; id++) s.line({ id })
        s.res.end()
      },
    })
    render(<Rows url={server.url} maxItems={4} />)
    await waitFor(() => expect(text('status')).toBe('closed'))
    expect(text('ids')).toBe('22,23,24,25')
  })

  test('reduce folds every item, even 5 000 of them in a few chunks', async () => {
    server = await startStreamServer({
      kind: 'ndjson',
      onStream: (s) => {
        let chunk = ''
        for (let id = 0; id < 5000; id++) chunk += `${JSON.stringify({ id })}\n`
        s.res.end(chunk)
      },
    })
    render(<Totals url={server.url} />)
    await waitFor(() => expect(text('totals')).toBe(`closed 5000 ${(5000 * 4999) / 2}`))
  })

  test('a bad line surfaces NdjsonSyntaxError with its line number, after the items before it', async () => {
    server = await startStreamServer({
      kind: 'ndjson',
      onStream: (s) => s.res.end('{"id":1}\n{"id":2}\n{oops\n{"id":4}\n'),
    })
    render(<Rows url={server.url} />)
    await waitFor(() => expect(text('status')).toBe('closed'))
    expect(text('ids')).toBe('1,2')
    expect(text('error')).toMatch(/^NdjsonSyntaxError .*line 3/)
  })

  test('an invalid maxItems or throttle is a TypeError that names the option', () => {
    expect(() => render(<Rows url={null} maxItems={0} />)).toThrow(/useNdjson: maxItems must be an integer >= 1/)
    expect(() => render(<Rows url={null} throttle={-1} />)).toThrow(
      /useNdjson: throttle must be a number of milliseconds >= 0 or 'frame', got -1/,
    )
  })
})
