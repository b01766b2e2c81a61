export type {
  Channel,
  ChannelEvent,
  ChannelGapData,
  ChannelGapMessage,
  ChannelOptions,
  ChannelSubscription,
  PublishOptions,
  SubscribeOptions,
} from './channel.js'
export { createChannel, DEFAULT_CHANNEL_MAX_QUEUE, GAP_EVENT } from './channel.js'
export type { RelayOptions, RelayTarget } from './relay.js'
export { relayChannel } from './relay.js'
export type {
  ChannelGapReason,
  ChannelMessage,
  ChannelMessageInit,
  ChannelStore,
  ChannelStoreRead,
  MemoryStoreOptions,
  SyncChannelStore,
} from './store.js'
export { createMemoryStore, DEFAULT_MEMORY_STORE_SIZE } from './store.js'
