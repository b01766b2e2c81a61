// The README's examples, type-checked as written there (an example that does not compile is a
// broken promise). Type-checked only, never run.

import { useEventStream, useNdjson, useSocket } from '@sluice/react'
import { describe, expectTypeOf, test } from 'vitest'

type Delta = { choices: { delta: { content?: string } }[] }

function Price({ symbol }: { symbol: string }) {
  const { data: price, status } = useEventStream(`/prices/${symbol}`, { parse: (d) => Number(d) })
  expectTypeOf(price).toEqualTypeOf<number | undefined>()
  return <span aria-busy={status !== 'open'}>{price ?? '…'}</span>
}

function Answer({ prompt }: { prompt: string }) {
  const {
    data: text,
    status,
    error,
    close,
  } = useEventStream('/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, stream: true }),
    done: (message) => message.data === '[DONE]',
    parse: (d) => JSON.parse(d) as Delta,
    reduce: (answer, message) => answer + (message.data.choices[0]?.delta.content ?? ''),
    initialState: '',
    retry: false,
  })
  expectTypeOf(text).toEqualTypeOf<string>()
  return (
    <section>
      <p>{text}</p>
      {(status === 'connecting' || status === 'open') && (
        <button type="button" onClick={close}>
          Stop
        </button>
      )}
      {error && <p role="alert">{error.message}</p>}
    </section>
  )
}

type Row = { id: string; name: string }

function Results({ query }: { query: string }) {
  const {
    data: rows,
    status,
    error,
  } = useNdjson<Row>(`/search?q=${encodeURIComponent(query)}`, { retry: false, maxItems: 500 })
  if (error) return <p role="alert">{error.message}</p>
  return (
    <ul aria-busy={status === 'open'}>
      {rows.map((row) => (
        <li key={row.id}>{row.name}</li>
      ))}
    </ul>
  )
}

type Incoming = { type: 'message'; user: string; text: string }
type Outgoing = { type: 'say'; text: string }

function Room({ room }: { room: string }) {
  const {
    data: messages,
    status,
    send,
  } = useSocket<Incoming, Outgoing, Incoming[]>(`wss://chat.example.com/rooms/${room}`, {
    reduce: (all, message) => [...all.slice(-199), message],
    initialState: [],
    heartbeat: { interval: 25_000, timeout: 10_000 },
    key: `room:${room}`,
  })
  return (
    <>
      {status !== 'open' && <p>{status}…</p>}
      <ul>
        {messages.map((m) => (
          <li key={`${m.user}:${m.text}`}>
            {m.user}: {m.text}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => send({ type: 'say', text: 'hi' })}>
        Say hi
      </button>
    </>
  )
}

describe('README examples compile as written', () => {
  test('one per hook, and the POST token stream with a Stop button', () => {
    expectTypeOf(Price).toBeFunction()
    expectTypeOf(Answer).toBeFunction()
    expectTypeOf(Results).toBeFunction()
    expectTypeOf(Room).toBeFunction()
  })
})
