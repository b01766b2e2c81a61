import { HttpError, SluiceError, ValidationError } from '@sluice/client'
import { describe, expect, it } from 'vitest'
import {
  type ConnectionAction,
  connectionReducer,
  initialSnapshot,
} from '../../packages/client/src/connection/machine.js'

const boom = new HttpError(503)
const run = (...actions: ConnectionAction<string>[]) =>
  actions.reduce((state, action) => connectionReducer(state, action), initialSnapshot<string>())

describe('connectionReducer', () => {
  it('starts connecting with nothing', () => {
    expect(initialSnapshot()).toEqual({
      status: 'connecting',
      data: undefined,
      error: undefined,
      attempt: 0,
      lastEventId: '',
    })
    expect(initialSnapshot('7').lastEventId).toBe('7')
  })

  it('walks connecting -> open -> reconnecting -> connecting -> open -> closed', () => {
    const statuses: string[] = []
    let state = initialSnapshot<string>()
    for (const action of [
      { type: 'open' },
      { type: 'retry', error: boom },
      { type: 'connect' },
      { type: 'open' },
      { type: 'close', error: undefined },
    ] as const) {
      state = connectionReducer(state, action)
      statuses.push(state.status)
    }
    expect(statuses).toEqual(['open', 'reconnecting', 'connecting', 'open', 'closed'])
  })

  it('counts failures, keeps the error until the next open, resets the count only when stable or reset', () => {
    const failing = run({ type: 'retry', error: boom }, { type: 'connect' }, { type: 'retry', error: boom })
    expect(failing).toMatchObject({ status: 'reconnecting', attempt: 2, error: boom })
    const reopened = connectionReducer(connectionReducer(failing, { type: 'connect' }), { type: 'open' })
    expect(reopened).toMatchObject({ status: 'open', attempt: 2, error: undefined })
    expect(connectionReducer(reopened, { type: 'stable' }).attempt).toBe(0)
    expect(connectionReducer(failing, { type: 'reset' }).attempt).toBe(0)
  })

  it('returns the same object when an action changes nothing (snapshot identity)', () => {
    const open = run({ type: 'open' })
    expect(connectionReducer(open, { type: 'open' })).toBe(open)
    expect(connectionReducer(open, { type: 'stable' })).toBe(open)
    const connecting = initialSnapshot<string>()
    expect(connectionReducer(connecting, { type: 'connect' })).toBe(connecting)
    const withData = connectionReducer(open, { type: 'message', data: 'x', lastEventId: '1' })
    expect(connectionReducer(withData, { type: 'message', data: 'x', lastEventId: '1' })).toBe(withData)
    expect(connectionReducer(withData, { type: 'lastEventId', lastEventId: '1' })).toBe(withData)
  })

  it('records data and the last event ID; a message without one keeps the previous ID', () => {
    const state = run(
      { type: 'open' },
      { type: 'message', data: 'a', lastEventId: '1' },
      { type: 'message', data: 'b' },
      { type: 'lastEventId', lastEventId: '2' },
    )
    expect(state).toMatchObject({ data: 'b', lastEventId: '2' })
  })

  it('a non-fatal error shows on the snapshot without changing the status', () => {
    const invalid = new ValidationError('bad', [{ message: 'bad' }])
    const state = run({ type: 'open' }, { type: 'error', error: invalid })
    expect(state).toMatchObject({ status: 'open', error: invalid })
  })

  it('closed is terminal: every later action is ignored', () => {
    const closed = run({ type: 'open' }, { type: 'close', error: new SluiceError('X', 'x') })
    for (const action of [
      { type: 'connect' },
      { type: 'open' },
      { type: 'retry', error: boom },
      { type: 'message', data: 'late' },
      { type: 'close', error: undefined },
    ] as const) {
      expect(connectionReducer(closed, action)).toBe(closed)
    }
  })

  it('never mutates the state it is given', () => {
    const open = Object.freeze(run({ type: 'open' }))
    expect(() => connectionReducer(open, { type: 'retry', error: boom })).not.toThrow()
    expect(open.status).toBe('open')
  })
})
