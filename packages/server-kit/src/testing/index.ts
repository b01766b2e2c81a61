export type { NodeListener, TestRequestInit, TestServer, TestServerHandler } from './test-server.js'
export { createTestServer } from './test-server.js'
export type { TestSocket, TestSocketClose, TestSocketMessage, TestSocketOptions } from './test-socket.js'
