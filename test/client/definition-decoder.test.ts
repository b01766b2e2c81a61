import { createEventStream, createNdjsonStream, createSocket, defineEvents, type EventDefinition } from '@sluice/client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'

// The typed decoding lives on the definitions defineEvents makes (so untyped bundles leave it out);
// an object that only looks like one has nothing to validate with and is refused at creation.
describe('events: a definition made by defineEvents', () => {
  const handMade: EventDefinition = {
    schemas: { tick: z.object({ n: z.number() }) },
    discriminator: 'type',
    events: ['tick'],
  }
  // Never contacted: the TypeError is thrown while the connection is created, before any request.
  const url = 'http://127.0.0.1:9/'

  it('a hand-made object is a TypeError naming defineEvents, for each connection kind', () => {
    expect(() => createEventStream(url, { events: handMade })).toThrow(
      new TypeError('createEventStream: events must be a definition made by defineEvents()'),
    )
    expect(() => createNdjsonStream(url, { events: handMade })).toThrow(
      new TypeError('createNdjsonStream: events must be a definition made by defineEvents()'),
    )
    expect(() =>
      createSocket('ws://127.0.0.1:9/', { WebSocket, events: { client: handMade, server: handMade } }),
    ).toThrow(new TypeError('createSocket: events must be a definition made by defineEvents()'))
  })

  it('a defineEvents definition is accepted', () => {
    const ticker = defineEvents({ tick: z.object({ n: z.number() }) })
    const connection = createEventStream(url, { events: ticker })
    expect(connection.getSnapshot().status).toBe('connecting')
    connection.close()
    expect(connection.getSnapshot().status).toBe('closed')
  })
})
