import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ResumableAnswers } from './answers.js'
import { ChatRoom } from './chat.js'
import { serveDownload } from './download.js'
import { Feed } from './feed.js'
import { sendJson } from './http.js'
import { serveRows } from './rows.js'
import { createStaticHandler } from './static.js'
import { Completions } from './tokens.js'

/** Where and what the demo server serves. */
export interface DemoServerOptions {
  port: number
  host: string
  /** The built app (`vite build` output). */
  staticDir: string
}

/** A running demo server. */
export interface DemoServer {
  readonly server: Server
  readonly url: string
  /** Ends every stream and socket (clients see a server shutdown), then stops listening. */
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

/**
 * Starts the demo server: the playground's endpoints under `/api/`, the built app everywhere else,
 * one port for both. Built only on `node:http` and `@sluice/server-kit`.
 */
export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  // One signal ends every stream on shutdown: the helpers end their streams cleanly when it aborts.
  const shutdown = new AbortController()
  const server = createServer()
  const feed = new Feed(shutdown.signal)
  const completions = new Completions(shutdown.signal)
  const answers = new ResumableAnswers()
  const chat = new ChatRoom(server)
  const serveStatic = createStaticHandler(options.staticDir)

  const routes: Record<string, Handler> = {
    'GET /api/feed': (req, res) => feed.serve(req, res),
    'POST /api/feed/drop': (_req, res) => sendJson(res, { dropped: feed.drop() }),
    'POST /api/tokens': (req, res) => completions.serve(req, res),
    'GET /api/tokens/requests': (_req, res) => sendJson(res, completions.records()),
    'POST /api/answers': (req, res) => answers.serve(req, res),
    'GET /api/answers/stats': (_req, res) => sendJson(res, answers.stats()),
    'GET /api/rows': (req, res) => serveRows(req, res, shutdown.signal),
    'POST /api/chat/restart': (_req, res) => sendJson(res, chat.restart()),
    'GET /api/download': (req, res) => serveDownload(req, res, shutdown.signal),
    'GET /api/stats': (_req, res) =>
      sendJson(res, {
        feed: feed.stats(),
        tokens: completions.records(),
        chat: chat.stats(),
        answers: answers.stats(),
      }),
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    // A resumable answer by id: `GET /api/answers/<id>`.
    const route =
      routes[`${req.method} ${pathname}`] ??
      (req.method === 'GET' && pathname.startsWith('/api/answers/') ? answers.serve.bind(answers) : undefined)
    const handler: Handler =
      route ??
      (pathname.startsWith('/api/')
        ? (_req, r) => sendJson(r, { error: `No route for ${req.method} ${pathname}` }, 404)
        : serveStatic)
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        // A handler bug must answer 500 (or cut a started response), never crash the demo server.
        console.error(`${req.method} ${pathname} failed:`, error)
        if (!res.headersSent) sendJson(res, { error: 'Internal error' }, 500)
        else res.destroy()
      })
  })

  server.listen(options.port, options.host)
  try {
    await once(server, 'listening')
  } catch (error) {
    // Port taken, bad host: release the ticker and the socket server before reporting it.
    feed.close()
    shutdown.abort()
    await chat.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${shownHost === '0.0.0.0' ? 'localhost' : shownHost}:${port}/`

  let closed: Promise<void> | undefined
  return {
    server,
    url,
    close() {
      closed ??= (async () => {
        feed.close()
        shutdown.abort()
        answers.close()
        await chat.close()
        const stopped = once(server, 'close')
        server.close()
        // Streams end on the shutdown signal; idle keep-alive connections would hold close() open.
        server.closeIdleConnections()
        const timer = setTimeout(() => server.closeAllConnections(), 2000)
        await stopped
        clearTimeout(timer)
      })()
      return closed
    },
  }
}
