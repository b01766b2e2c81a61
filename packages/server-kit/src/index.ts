// The main entry: everything of the Fetch entry (`@sluice/server-kit/fetch`, which reaches no Node
// module), plus the Node adapters and the WebSocket server. Each name is listed once, in the entry
// that owns it.
export * from './fetch-entry.js'
export type { NodeEventStreamSource } from './node.js'
export { sendEventStream, sendNdjson, sendStream } from './node.js'
export type { FetchHandler, NodeHandlerOptions } from './node-handler.js'
export { toNodeHandler } from './node-handler.js'
export type {
  AuthenticateResult,
  SocketClient,
  SocketServer,
  SocketServerOptions,
  TypedSocketServerOptions,
} from './socket-server.js'
export {
  createSocketServer,
  DEFAULT_SOCKET_HEARTBEAT_INTERVAL,
  DEFAULT_SOCKET_MAX_BUFFERED_BYTES,
  DEFAULT_SOCKET_MAX_PAYLOAD,
  SocketCloseCode,
} from './socket-server.js'
