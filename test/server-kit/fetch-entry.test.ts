import * as main from '@sluice/server-kit'
import * as fetchEntry from '@sluice/server-kit/fetch'
import { describe, expect, it } from 'vitest'

describe('@sluice/server-kit/fetch', () => {
  it('exports the same bindings as the main entry, minus what needs Node', () => {
    const names = Object.keys(fetchEntry)
    expect(names).toEqual(expect.arrayContaining(['eventStreamResponse', 'ndjsonResponse', 'createChannel']))
    for (const name of names) {
      expect(main[name as keyof typeof main], name).toBe(fetchEntry[name as keyof typeof fetchEntry])
    }
    // What a Fetch runtime cannot run stays out of this entry.
    for (const nodeOnly of ['sendEventStream', 'sendNdjson', 'sendStream', 'toNodeHandler', 'createSocketServer']) {
      expect(names).not.toContain(nodeOnly)
    }
  })

  it('lists every main export that is not Node-only (a new Fetch-safe export is not forgotten)', () => {
    const nodeOnly = new Set([
      'sendEventStream',
      'sendNdjson',
      'sendStream',
      'toNodeHandler',
      'createSocketServer',
      'DEFAULT_SOCKET_HEARTBEAT_INTERVAL',
      'DEFAULT_SOCKET_MAX_BUFFERED_BYTES',
      'DEFAULT_SOCKET_MAX_PAYLOAD',
      'SocketCloseCode',
    ])
    const missing = Object.keys(main).filter((name) => !nodeOnly.has(name) && !(name in fetchEntry))
    expect(missing).toEqual([])
  })
})
