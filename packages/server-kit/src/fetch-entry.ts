/**
 * `@sluice/server-kit/fetch`: everything that runs on a Fetch runtime (Bun, Deno, Workers, Next
 * route handlers, browsers' service workers) and nothing that needs Node: no `node:` module and no
 * `ws` is reachable from here, so a runtime that loads it without a bundler loads only Web APIs.
 * The main entry exports all of this too, next to the Node adapters and the WebSocket server.
 *
 * @example
 * ```ts
 * import { createChannel, eventStreamResponse } from '@sluice/server-kit/fetch'
 *
 * const channel = createChannel()
 * Bun.serve({
 *   fetch: (request) =>
 *     eventStreamResponse(request, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal })),
 * })
 * ```
 */
export type {
  Channel,
  ChannelEvent,
  ChannelGapData,
  ChannelGapMessage,
  ChannelGapReason,
  ChannelMessage,
  ChannelMessageInit,
  ChannelOptions,
  ChannelStore,
  ChannelStoreRead,
  ChannelSubscription,
  MemoryStoreOptions,
  PublishOptions,
  RelayOptions,
  RelayTarget,
  SubscribeOptions,
  SyncChannelStore,
} from './channel/index.js'
export {
  createChannel,
  createMemoryStore,
  DEFAULT_CHANNEL_MAX_QUEUE,
  DEFAULT_MEMORY_STORE_SIZE,
  GAP_EVENT,
  relayChannel,
} from './channel/index.js'
export type { ServeEventStreamOptions, ServeNdjsonOptions, ServeStreamOptions } from './encoders.js'
export {
  DEFAULT_KEEP_ALIVE,
  DEFAULT_SHUTDOWN_JITTER,
  DEFAULT_SHUTDOWN_RETRY,
  EVENT_STREAM_HEADERS,
  KEEP_ALIVE_COMMENT,
  NDJSON_HEADERS,
  OPENING_COMMENT,
  STREAM_HEADERS,
} from './encoders.js'
export type { FetchEventStreamSource } from './fetch.js'
export { eventStreamResponse, ndjsonResponse, streamResponse } from './fetch.js'
export type { EventMessage } from './format.js'
export { formatEvent, formatNdjsonLine } from './format.js'
export type { ServeOptions, StreamContext, StreamEndReason, StreamIterable, StreamSource } from './pump.js'
export { DEFAULT_SEND_TIMEOUT } from './pump.js'
export type {
  ResumableContext,
  ResumableEvent,
  ResumableStatus,
  ResumableStreams,
  ResumableStreamsOptions,
  ResumableWork,
  TypedResumableEvent,
} from './resumable.js'
export { createResumableStreams } from './resumable.js'
export type { TypedChannel, TypedOptions } from './typed.js'
export { typedChannel, typedEnvelope, typedEvent } from './typed.js'
