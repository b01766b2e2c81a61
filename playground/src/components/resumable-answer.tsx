import { useEventStream } from '@sluice/react'
import { type ReactElement, useEffect, useState } from 'react'
import { Card, type Status, StatusBadge } from './ui.js'

/** Where the client keeps the answer's position (`{ id, lastEventId }`) across reloads. */
const POSITION_KEY = 'sluice-playground:answer'
/** The prompt of the answer being resumed, so the page can show it again after a reload. */
const PROMPT_KEY = 'sluice-playground:answer-prompt'

function storedPrompt(): string | null {
  // A stored position means an answer was streaming when the page went away: resume it.
  return sessionStorage.getItem(POSITION_KEY) === null ? null : sessionStorage.getItem(PROMPT_KEY)
}

/**
 * "Reload mid-answer": a POST answer served by `createResumableStreams`. The client keeps its
 * position in `sessionStorage`; after a reload it resumes by GET (with `replay: 'all'`, so the
 * fresh page gets the whole answer again), and the server never runs the prompt twice.
 */
export function ResumableAnswer(): ReactElement {
  const [resumed] = useState(() => storedPrompt() !== null)
  const [prompt, setPrompt] = useState<string | null>(storedPrompt)
  const [draft, setDraft] = useState('Does a reload restart the answer?')
  // Each Ask is a new request (the hook compares requests by value: the same prompt twice would not be).
  const [asked, setAsked] = useState(0)
  const { data, status, error } = useEventStream(prompt === null ? null : `/api/answers?ask=${asked}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
    resumable: { url: (id) => `/api/answers/${id}`, storage: sessionStorage, key: POSITION_KEY, replay: 'all' },
    reduce: (answer: { text: string; tokens: number }, message) =>
      message.event === 'token' ? { text: answer.text + message.data, tokens: answer.tokens + 1 } : answer,
    initialState: { text: '', tokens: 0 },
  })
  // What the server saw (GET /api/answers/stats), refreshed on every status change.
  const [server, setServer] = useState<{ runs: number; resumes: number } | undefined>(undefined)
  useEffect(() => {
    if (status === 'idle') return
    const controller = new AbortController()
    fetch('/api/answers/stats', { signal: controller.signal })
      .then((response) => response.json() as Promise<{ runs: number; resumes: number }>)
      .then(setServer)
      .catch((reason: unknown) => {
        // Aborted by the next status change or an unmount; otherwise only the counter is missing.
        if (!controller.signal.aborted) console.warn('Could not read the answer stats', reason)
      })
    return () => controller.abort()
  }, [status])
  const shown: Status = error ? 'error' : status === 'closed' ? 'done' : status === 'open' ? 'streaming' : status

  function ask(): void {
    sessionStorage.setItem(PROMPT_KEY, draft)
    setPrompt(draft)
    setAsked((n) => n + 1)
  }

  return (
    <Card
      title={
        <span className="row">
          Resumable answer <StatusBadge status={shown} testId="resumable-status" />
        </span>
      }
    >
      <p className="muted">
        Ask, then press <strong>Reload page</strong> mid-answer: the new page resumes the same answer by GET (
        <code>createResumableStreams</code> + the client's <code>resumable</code> option), and the server's{' '}
        <em>runs</em> counter shows the prompt ran once.
        {server && (
          <span data-testid="resumable-server">
            {' '}
            Server: {server.runs} {server.runs === 1 ? 'run' : 'runs'}, {server.resumes} resumed.
          </span>
        )}
        {resumed && <strong data-testid="resumable-resumed"> This page resumed an answer after a reload.</strong>}
      </p>
      {prompt !== null && (
        <div className="transcript">
          <div className="bubble bubble-user">{prompt}</div>
          <div className="bubble bubble-bot" data-testid="resumable-answer" data-tokens={data.tokens}>
            <span className="bubble-meta">{data.tokens} tokens</span>
            <span className={status === 'closed' ? undefined : 'caret'}>{data.text}</span>
            {error && (
              <div className="alert alert-bad" role="alert">
                {error.message}
              </div>
            )}
          </div>
        </div>
      )}
      <div className="composer">
        <input
          type="text"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          aria-label="Resumable prompt"
          data-testid="resumable-prompt"
        />
        <button
          type="button"
          className="primary"
          onClick={ask}
          disabled={prompt !== null && status !== 'closed'}
          data-testid="resumable-ask"
        >
          Ask
        </button>
        <button type="button" onClick={() => window.location.reload()} data-testid="resumable-reload">
          Reload page
        </button>
      </div>
    </Card>
  )
}
