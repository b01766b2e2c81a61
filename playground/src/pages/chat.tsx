import { useSocket } from '@sluice/react'
import { type FormEvent, type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import { ByteMeter, meteredWebSocket, useBytes } from '../components/meter.js'
import { Card, NetworkPanel, PageHeader, Stat, StatusBadge } from '../components/ui.js'

/** A chat line as the server broadcasts it (see playground/server/chat.ts). */
interface ChatLine {
  id: number
  from: string
  text: string
  at: number
  /** The sender's own id for the line, so the sender can match its queued copy. */
  localId: string
}

/** Server -> browser. */
type ServerMessage =
  | { type: 'history'; messages: ChatLine[] }
  | { type: 'message'; message: ChatLine }
  | { type: 'presence'; count: number }

/** Browser -> server. */
interface SayMessage {
  type: 'say'
  from: string
  text: string
  localId: string
}

interface RoomState {
  lines: ChatLine[]
  presence: number
}

const MAX_LINES = 200
const initialRoom: RoomState = { lines: [], presence: 0 }

function reduceRoom(state: RoomState, message: ServerMessage): RoomState {
  switch (message.type) {
    case 'history': {
      // Sent on every (re)connect: merge by id so a reconnect never duplicates a line.
      const known = new Set(state.lines.map((line) => line.id))
      const lines = [...state.lines, ...message.messages.filter((line) => !known.has(line.id))]
      return { ...state, lines: lines.sort((a, b) => a.id - b.id).slice(-MAX_LINES) }
    }
    case 'message':
      if (state.lines.some((line) => line.id === message.message.id)) return state
      return { ...state, lines: [...state.lines, message.message].slice(-MAX_LINES) }
    case 'presence':
      return { ...state, presence: message.count }
    default:
      return state
  }
}

const ANIMALS = ['otter', 'heron', 'lynx', 'gecko', 'puffin', 'ibex', 'koala', 'marten', 'tapir', 'wombat']

/** A name per tab: sessionStorage survives reloads of this tab only. */
function tabName(): string {
  const saved = sessionStorage.getItem('sluice-chat-name')
  if (saved !== null) return saved
  const name = `${ANIMALS[Math.floor(Math.random() * ANIMALS.length)]}-${Math.floor(Math.random() * 900 + 100)}`
  sessionStorage.setItem('sluice-chat-name', name)
  return name
}

/**
 * An id for a line this tab sends. `crypto.randomUUID` only exists in secure contexts: a phone on
 * the LAN opening `http://192.168.x.y:3000` (with `HOST=0.0.0.0`) has none.
 */
function localId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/** Page 4: a WebSocket room on `createSocketServer`, with presence and an offline send queue. */
export function ChatPage(): ReactElement {
  const meter = useMemo(() => new ByteMeter(), [])
  const bytes = useBytes(meter)
  const WebSocketWithMeter = useMemo(() => meteredWebSocket(meter), [meter])
  const [name, setName] = useState(tabName)
  const [draft, setDraft] = useState('')
  /** Lines this tab sent that the room has not echoed back yet: queued while offline, or in flight. */
  const [outbox, setOutbox] = useState<SayMessage[]>([])
  const [restarting, setRestarting] = useState(false)
  const transcript = useRef<HTMLDivElement>(null)
  const url = useMemo(() => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/chat`, [])
  const room = useSocket<ServerMessage, SayMessage, RoomState>(url, {
    WebSocket: WebSocketWithMeter,
    reduce: reduceRoom,
    initialState: initialRoom,
    throttle: 0,
    retry: { initialDelay: 400, maxDelay: 3000 },
    heartbeat: false,
  })
  const lines = room.data.lines

  // A queued line leaves the outbox when the room echoes it back.
  useEffect(() => {
    const echoed = new Set(lines.map((line) => line.localId))
    setOutbox((pending) =>
      pending.some((m) => echoed.has(m.localId)) ? pending.filter((m) => !echoed.has(m.localId)) : pending,
    )
  }, [lines])

  // biome-ignore lint/correctness/useExhaustiveDependencies: scrolls whenever a line is added
  useEffect(() => {
    transcript.current?.scrollTo({ top: transcript.current.scrollHeight })
  }, [lines.length, outbox.length])

  function say(event: FormEvent): void {
    event.preventDefault()
    const text = draft.trim()
    if (text === '') return
    const message: SayMessage = { type: 'say', from: name, text, localId: localId() }
    // While the socket is down this queues (bounded); it is sent in order on reconnect.
    room.send(message)
    setOutbox((pending) => [...pending, message])
    setDraft('')
  }

  async function restart(): Promise<void> {
    setRestarting(true)
    try {
      await fetch('/api/chat/restart', { method: 'POST' })
    } finally {
      setRestarting(false)
    }
  }

  const offline = room.status !== 'open'
  return (
    <>
      <PageHeader
        kicker="WebSocket · room · offline queue"
        title="Chat"
        tryThis={
          <span>
            Open this page in a second tab and chat between them. Press <strong>Restart sockets</strong>: the server
            drops every socket and holds new ones for two seconds. Type while the badge says <em>reconnecting</em>: your
            lines wait in the queue and are sent, in order, once it is back.
          </span>
        }
      >
        The room runs on <code>createSocketServer</code> (JSON messages, heartbeat, bounded payloads). Each tab connects
        with <code>useSocket</code>, which reconnects with backoff and queues what you send while it is down.
      </PageHeader>
      <div className="page-grid">
        <div className="stack">
          <Card
            title={
              <span className="row">
                Room <StatusBadge status={room.status} testId="chat-status" />
              </span>
            }
            actions={
              <button type="button" onClick={restart} disabled={restarting} data-testid="restart">
                Restart sockets
              </button>
            }
          >
            <div className="transcript" ref={transcript} data-testid="chat-lines">
              {lines.length === 0 && outbox.length === 0 && (
                <p className="empty">Say hello. Everyone in the room sees it.</p>
              )}
              {lines.map((line) => (
                <div
                  key={line.id}
                  className={line.from === name ? 'bubble bubble-user' : 'bubble bubble-bot'}
                  data-testid="chat-line"
                >
                  <span className="bubble-meta">
                    {line.from} · {new Date(line.at).toLocaleTimeString()}
                  </span>
                  {line.text}
                </div>
              ))}
              {outbox.map((message) => (
                <div key={message.localId} className="bubble bubble-user pending" data-testid="chat-queued">
                  <span className="bubble-meta">{offline ? 'queued · sends on reconnect' : 'sending…'}</span>
                  {message.text}
                </div>
              ))}
            </div>
            <form className="composer" onSubmit={say}>
              <input
                type="text"
                value={name}
                onChange={(e) => setName(e.target.value.slice(0, 24))}
                aria-label="Your name"
                style={{ flex: '0 0 140px' }}
              />
              <input
                type="text"
                value={draft}
                onChange={(e) => setDraft(e.target.value.slice(0, 500))}
                placeholder={offline ? 'Offline: messages will be queued' : 'Message the room'}
                aria-label="Message"
                data-testid="chat-input"
              />
              <button type="submit" className="primary" data-testid="chat-send">
                Send
              </button>
            </form>
          </Card>
          <div className="stats">
            <Stat label="People here" value={offline ? '–' : room.data.presence} testId="presence" />
            <Stat label="Queued" value={outbox.length} testId="queued" />
            <Stat label="Messages" value={lines.length} />
            <Stat label="Attempt" value={room.attempt} />
          </div>
        </div>
        <NetworkPanel
          transport="WebSocket (partysocket)"
          endpoint="/api/chat"
          status={room.status}
          attempt={room.attempt}
          bytes={bytes}
          rows={[['You are', name]]}
        />
      </div>
    </>
  )
}
