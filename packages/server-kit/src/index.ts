export {}
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
  SubscribeOptions,
  SyncChannelStore,
} from './channel/index.js'
export {
  createChannel,
  createMemoryStore,
  DEFAULT_CHANNEL_MAX_QUEUE,
  DEFAULT_MEMORY_STORE_SIZE,
  GAP_EVENT,
} from './channel/index.js'
