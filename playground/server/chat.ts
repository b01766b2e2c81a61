import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { createSocketServer, type SocketServer } from '@sluice/server-kit'

/** A chat line as the room broadcasts it. */
export interface ChatLine {
  readonly id: number
  readonly from: string
  readonly text: string
  readonly at: number
  /** The sender's id for the line, so its tab can match the queued copy with the echo. */
  readonly localId: string
}

const HISTORY = 50
/** Upgrade requests held at most during a restart; more are refused (the socket is destroyed). */
const MAX_HELD = 256
/** How long "Restart sockets" keeps the room down: long enough to type while offline. */
export const RESTART_DOWNTIME_MS = 2000

/** Server -> browser messages. */
type RoomMessage =
  | { type: 'history'; messages: readonly ChatLine[] }
  | { type: 'message'; message: ChatLine }
  | { type: 'presence'; count: number }

/**
 * The chat room: a `createSocketServer` at `/api/chat` on the demo server's port. Every socket gets
 * the recent history on connect; every `say` is stamped with an id and broadcast to all; presence
 * is broadcast on every join and leave.
 */
export class ChatRoom {
  readonly #history: ChatLine[] = []
  #sockets: SocketServer<RoomMessage> | undefined
  #restartTimer: ReturnType<typeof setTimeout> | undefined
  #nextId = 1
  #restarts = 0
  /** Upgrades that arrived while the room was down, answered when it is back (or on close). */
  readonly #held = new Set<{ request: IncomingMessage; socket: Duplex; head: Buffer }>()
  readonly #hold = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/api/chat') return
    if (this.#held.size >= MAX_HELD) {
      socket.destroy()
      return
    }
    const entry = { request, socket, head }
    this.#held.add(entry)
    socket.once('close', () => this.#held.delete(entry))
  }

  constructor(private readonly server: Server) {
    this.#sockets = this.#open()
  }

  #open(): SocketServer<RoomMessage> {
    const sockets = createSocketServer<unknown, RoomMessage>({
      server: this.server,
      path: '/api/chat',
      // Browsers send an Origin; only pages served from this server may join the room.
      allowedOrigins: (origin, request) => origin === undefined || origin === `http://${request.headers.host}`,
      onConnect: (client) => {
        client.send({ type: 'history', messages: this.#history })
        this.#presence()
      },
      onMessage: (data) => {
        const line = parseSay(data)
        if (line === undefined) return
        const stamped: ChatLine = { id: this.#nextId++, at: Date.now(), ...line }
        this.#history.push(stamped)
        if (this.#history.length > HISTORY) this.#history.shift()
        sockets.broadcast({ type: 'message', message: stamped })
      },
      onClose: () => this.#presence(),
    })
    return sockets
  }

  #presence(): void {
    this.#sockets?.broadcast({ type: 'presence', count: this.#sockets.clientCount })
  }

  /**
   * `POST /api/chat/restart`: ends every socket (1001, "going away") and holds new ones for
   * {@link RESTART_DOWNTIME_MS}, like a deploy behind a proxy that queues connections. Clients
   * reconnect with backoff, wait for the room to be back, then flush what they queued meanwhile.
   * (Holding rather than refusing: a refused handshake makes the browser log a console error on
   * every retry, which would drown real errors on this page.)
   */
  restart(): { restarting: boolean; downtimeMs: number } {
    if (this.#sockets === undefined) return { restarting: true, downtimeMs: RESTART_DOWNTIME_MS }
    this.#restarts++
    const sockets = this.#sockets
    this.#sockets = undefined
    sockets.close().catch((error: unknown) => console.error('Closing the chat sockets failed:', error))
    // Without an upgrade listener Node would answer the handshake as a plain request.
    this.server.on('upgrade', this.#hold)
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined
      this.server.off('upgrade', this.#hold)
      const reopened = this.#open()
      this.#sockets = reopened
      for (const { request, socket, head } of this.#held) reopened.handleUpgrade(request, socket, head)
      this.#held.clear()
    }, RESTART_DOWNTIME_MS)
    return { restarting: true, downtimeMs: RESTART_DOWNTIME_MS }
  }

  stats(): { clients: number; up: boolean; restarts: number; lines: number } {
    return {
      clients: this.#sockets?.clientCount ?? 0,
      up: this.#sockets !== undefined,
      restarts: this.#restarts,
      lines: this.#nextId - 1,
    }
  }

  async close(): Promise<void> {
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer)
    this.#restartTimer = undefined
    this.server.off('upgrade', this.#hold)
    for (const { socket } of this.#held) socket.destroy()
    this.#held.clear()
    const sockets = this.#sockets
    this.#sockets = undefined
    await sockets?.close()
  }
}

/** Validates a `say` message from a browser; anything else is ignored. */
function parseSay(data: unknown): Omit<ChatLine, 'id' | 'at'> | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const { type, from, text, localId } = data as Record<string, unknown>
  if (type !== 'say' || typeof text !== 'string' || typeof from !== 'string' || typeof localId !== 'string') {
    return undefined
  }
  const clean = text.trim().slice(0, 500)
  if (clean === '') return undefined
  return { from: from.trim().slice(0, 24) || 'anonymous', text: clean, localId: localId.slice(0, 64) }
}
