import { describe, expect, it } from 'vitest'
import { fixture, RuntimeProcess, runtimes, startServer } from './harness.js'

/** The harness is what every other test in this folder trusts: its failure modes are tested too. */
describe.each(runtimes)('harness under %s', (runtime) => {
  it('fails with the child stderr when the child dies before it is ready', async () => {
    const error = await startServer(runtime, fixture('crash.ts')).then(
      () => undefined,
      (reason: unknown) => reason,
    )
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain('exited (code 3')
    expect((error as Error).message).toContain('fixture crashed on purpose: no ready line')
  })

  it('close() kills the process group and waits for the exit', async () => {
    // The Vitest worker may hold process handles of its own: compare with the count before.
    const processHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length
    const before = processHandles()
    const child = new RuntimeProcess(runtime, fixture('idle.ts'))
    const ready = await child.waitForType('ready')
    const pid = Number(ready.pid)
    expect(() => process.kill(pid, 0)).not.toThrow()
    expect(processHandles()).toBe(before + 1)
    await child.close()
    const exit = await child.exited
    expect(exit.signal).toBe('SIGTERM')
    // Nothing is left in the group: signal 0 to the group fails with ESRCH.
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }))
    // And this process holds no handle of the child any more.
    expect(processHandles()).toBe(before)
    await expect(child.waitForType('never')).rejects.toThrow(/exited/)
  })

  it('a wait for an event that never comes is bounded and says what it waited for', async () => {
    const child = new RuntimeProcess(runtime, fixture('idle.ts'))
    try {
      await child.waitForType('ready')
      await expect(child.waitForType('never-printed', {}, 200)).rejects.toThrow(
        /no "never-printed" event .* within 200 ms/,
      )
    } finally {
      await child.close()
    }
  })
})
