import { createEventStream, createNdjsonStream } from '@sluice/client'
import { describe, expect, it } from 'vitest'

const calls: string[] = []
const fetch = async (input: string | URL | Request) => {
  calls.push(String(input))
  return new Response(null, { status: 204 })
}
// Headers built asynchronously: the attempt awaits them before it would send the request.
const headers = async () => ({ authorization: 'x' })

describe('a connection closed before its first request', () => {
  it.each([
    ['createEventStream', () => createEventStream('http://127.0.0.1:9/never', { fetch, headers })],
    ['createNdjsonStream', () => createNdjsonStream('http://127.0.0.1:9/never', { fetch, headers })],
  ] as const)('%s never calls fetch and ends closed without an error', async (_name, create) => {
    calls.length = 0
    const connection = create()
    connection.close()
    const received: unknown[] = []
    for await (const message of connection) received.push(message)
    // Give any attempt that had started the chance to reach fetch.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toEqual([])
    expect(received).toEqual([])
    expect(connection.getSnapshot()).toMatchObject({ status: 'closed', error: undefined })
  })
})
