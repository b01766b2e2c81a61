import { createEventStream, type SluiceError } from '@sluice/client'
import { type FormEvent, type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import { ByteMeter, meteredFetch, useBytes } from '../components/meter.js'
import { ResumableAnswer } from '../components/resumable-answer.js'
import { Card, NetworkPanel, PageHeader, type Status, StatusBadge } from '../components/ui.js'

interface Exchange {
  id: number
  prompt: string
  answer: string
  tokens: number
  outcome: 'streaming' | 'completed' | 'stopped' | 'failed'
  /** Shown in the bubble: an `error` event from the server, or a connection error. */
  error?: string
}

/** What the server records per request (GET /api/tokens/requests). */
interface ServerRecord {
  id: number
  prompt: string
  tokens: number
  outcome: 'streaming' | 'completed' | 'aborted' | 'failed'
}

type Connection = ReturnType<typeof createEventStream>

/**
 * Page 2: a POST that streams tokens as SSE, the way chat-completion APIs do. This page uses the
 * framework-free client directly (`createEventStream` + `for await`), since a chat turn is a
 * request the user starts, not a subscription.
 */
export function TokenStreamPage(): ReactElement {
  const meter = useMemo(() => new ByteMeter(), [])
  const bytes = useBytes(meter)
  const fetchWithMeter = useMemo(() => meteredFetch(meter), [meter])
  const [prompt, setPrompt] = useState('How do resumable streams work?')
  const [failMidway, setFailMidway] = useState(false)
  const [exchanges, setExchanges] = useState<Exchange[]>([])
  const [status, setStatus] = useState<Status>('idle')
  const [attempt, setAttempt] = useState(0)
  const [serverLog, setServerLog] = useState<ServerRecord[]>([])
  const connection = useRef<Connection | undefined>(undefined)
  const nextId = useRef(1)
  const transcript = useRef<HTMLDivElement>(null)

  // The page owns at most one request; leaving the page aborts it.
  useEffect(() => () => connection.current?.close(), [])

  // The server's view of the requests, so you can see the abort arrive there.
  useEffect(() => {
    const controller = new AbortController()
    const refresh = () =>
      fetch('/api/tokens/requests', { signal: controller.signal })
        .then((r) => r.json() as Promise<ServerRecord[]>)
        .then(setServerLog)
        .catch((error: unknown) => {
          // Aborted on unmount, or the server restarted: the next poll tries again.
          if (!controller.signal.aborted) console.warn('Could not refresh the server log', error)
        })
    refresh()
    const timer = setInterval(refresh, 700)
    return () => {
      clearInterval(timer)
      controller.abort()
    }
  }, [])

  // Keep the newest token in view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: scrolls whenever the transcript changes
  useEffect(() => {
    transcript.current?.scrollTo({ top: transcript.current.scrollHeight })
  }, [exchanges])

  function update(id: number, change: (exchange: Exchange) => Exchange): void {
    setExchanges((list) => list.map((e) => (e.id === id ? change(e) : e)))
  }

  async function send(event: FormEvent): Promise<void> {
    event.preventDefault()
    if (status === 'streaming' || prompt.trim() === '') return
    const id = nextId.current++
    setExchanges((list) => [...list, { id, prompt, answer: '', tokens: 0, outcome: 'streaming' }])
    setStatus('streaming')
    const stream = createEventStream('/api/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(failMidway ? { prompt, failAfter: 25 } : { prompt }),
      fetch: fetchWithMeter,
      // Chat APIs end with `data: [DONE]`: close cleanly there, without handing it to the UI.
      done: (message) => message.data === '[DONE]',
      retry: false,
    })
    connection.current = stream
    const unsubscribe = stream.subscribe(() => setAttempt(stream.getSnapshot().attempt))
    let failure: string | undefined
    try {
      for await (const message of stream) {
        if (message.event === 'token') {
          update(id, (e) => ({ ...e, answer: e.answer + message.data, tokens: e.tokens + 1 }))
        } else if (message.event === 'error') {
          // The server's onError turned its exception into this event: show it, never swallow it.
          failure = (JSON.parse(message.data) as { message: string }).message
        }
      }
      const error: SluiceError | undefined = stream.getSnapshot().error
      if (error !== undefined && failure === undefined) failure = error.message
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error)
    }
    unsubscribe()
    const stopped = connection.current !== stream
    connection.current = undefined
    update(id, (e) => ({
      ...e,
      outcome: stopped
        ? 'stopped'
        : failure !== undefined
          ? 'failed'
          : e.outcome === 'streaming'
            ? 'completed'
            : e.outcome,
      ...(failure !== undefined && !stopped ? { error: failure } : {}),
    }))
    setStatus(stopped ? 'closed' : failure !== undefined ? 'error' : 'done')
  }

  function stop(): void {
    const stream = connection.current
    // Clearing the ref first tells `send` this end was the user's Stop, not the server's.
    connection.current = undefined
    stream?.close()
  }

  const streaming = status === 'streaming'
  return (
    <>
      <PageHeader
        kicker="POST Server-Sent Events · abort"
        title="Token stream"
        tryThis={
          <span>
            Send a prompt and press <strong>Stop</strong> half-way: the request is aborted and the server log on the
            right shows <em>aborted</em>. Tick <strong>Fail mid-stream</strong> to see an error event reach the page.
          </span>
        }
      >
        The demo server streams a deterministic fake answer token by token (no model, no external service) with{' '}
        <code>sendEventStream</code>. The page posts with <code>createEventStream</code>, stops at the{' '}
        <code>[DONE]</code> marker with the <code>done</code> predicate, and never retries a POST by itself.
      </PageHeader>
      <div className="page-grid">
        <div className="stack">
          <Card
            title={
              <span className="row">
                Assistant <StatusBadge status={status} testId="token-status" />
              </span>
            }
          >
            <div className="transcript" ref={transcript} data-testid="transcript">
              {exchanges.length === 0 && <p className="empty">No messages yet. Ask something below.</p>}
              {exchanges.map((exchange) => (
                <ExchangeView key={exchange.id} exchange={exchange} />
              ))}
            </div>
            <form className="composer" onSubmit={send}>
              <input
                type="text"
                value={prompt}
                onChange={(e) => setPrompt(e.target.value)}
                placeholder="Ask the fake model anything"
                aria-label="Prompt"
                data-testid="prompt"
              />
              <label className="check">
                <input type="checkbox" checked={failMidway} onChange={(e) => setFailMidway(e.target.checked)} />
                Fail mid-stream
              </label>
              {streaming ? (
                // Distinct keys: React must not turn the clicked Stop button into the submit button
                // (the click's default action would then submit the form and start a new request).
                <button key="stop" type="button" className="danger" onClick={stop} data-testid="stop">
                  Stop
                </button>
              ) : (
                <button key="send" type="submit" className="primary" data-testid="send">
                  Send
                </button>
              )}
            </form>
          </Card>
          <ResumableAnswer />
        </div>
        <div className="stack">
          <NetworkPanel
            transport="SSE over fetch (POST)"
            endpoint="/api/tokens"
            status={status}
            attempt={attempt}
            bytes={bytes}
            rows={[['Retries', 'off (POST is not idempotent)']]}
          />
          <Card title="Server log">
            <ul className="log" data-testid="server-log">
              {serverLog.length === 0 && <li className="muted">No requests yet</li>}
              {serverLog.slice(0, 6).map((record) => (
                <li key={record.id} data-outcome={record.outcome}>
                  <span>
                    #{record.id} · {record.tokens} tokens
                  </span>
                  <StatusBadge status={serverTone(record.outcome)} label={record.outcome} />
                </li>
              ))}
            </ul>
          </Card>
        </div>
      </div>
    </>
  )
}

function serverTone(outcome: ServerRecord['outcome']): Status {
  return outcome === 'completed'
    ? 'done'
    : outcome === 'aborted'
      ? 'closed'
      : outcome === 'failed'
        ? 'error'
        : 'streaming'
}

function ExchangeView({ exchange }: { exchange: Exchange }): ReactElement {
  return (
    <>
      <div className="bubble bubble-user">{exchange.prompt}</div>
      <div className="bubble bubble-bot" data-testid="answer" data-outcome={exchange.outcome}>
        <span className="bubble-meta">
          {exchange.tokens} tokens · {exchange.outcome}
        </span>
        <span className={exchange.outcome === 'streaming' ? 'caret' : undefined}>{exchange.answer}</span>
        {exchange.error !== undefined && (
          <div className="alert alert-bad" role="alert" data-testid="token-error">
            {exchange.error}
          </div>
        )}
      </div>
    </>
  )
}
