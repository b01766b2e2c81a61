export { compareStreamIds, isStreamId } from './ids.js'
export type { RedisClientLike, RedisStore, RedisStoreOptions } from './store.js'
export {
  createRedisStore,
  DEFAULT_REDIS_COMMAND_TIMEOUT,
  DEFAULT_REDIS_MAX_LENGTH,
  DEFAULT_REDIS_MAX_MESSAGE_SIZE,
  RedisStoreError,
} from './store.js'
