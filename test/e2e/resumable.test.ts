// "Reload mid-answer" on the token-stream page, in Chromium against the built playground: the
// answer started by a POST survives a real page reload, resumes by GET, ends complete, and the
// server ran the prompt once.

import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { AnswerStats } from '../../playground/server/answers.js'
import { fakeAnswer } from '../../playground/server/tokens.js'
import {
  launchChromium,
  openPage,
  type Playground,
  type PlaygroundStats,
  screenshotDir,
  startPlayground,
  until,
} from './harness.js'

let playground: Playground
let browser: Browser

beforeAll(async () => {
  playground = await startPlayground()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  const code = await playground?.stop()
  if (code !== 0) throw new Error(`The demo server did not exit cleanly (code ${code}).\n${playground.stderr()}`)
})

const answers = async () => (await playground.stats<PlaygroundStats & { answers: AnswerStats }>()).answers

describe('playground: resumable answer (built, in Chromium)', () => {
  it('a reload mid-answer resumes the same answer: complete, no token missing or repeated, the prompt ran once', async ({
    expect,
  }) => {
    const context = await browser.newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${playground.url}/#/tokens`)
    const prompt = 'What survives a reload?'
    const expected = fakeAnswer(prompt)
    expect(expected.length).toBeGreaterThan(60)

    await page.getByTestId('resumable-prompt').fill(prompt)
    await page.getByTestId('resumable-ask').click()
    // Mid-answer: some tokens shown, far from all of them.
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="resumable-answer"]')?.getAttribute('data-tokens')) >= 10,
      undefined,
      { timeout: 20_000 },
    )
    const before = Number(await page.getByTestId('resumable-answer').getAttribute('data-tokens'))
    expect(before).toBeLessThan(expected.length)
    expect(await page.evaluate(() => sessionStorage.getItem('sluice-playground:answer'))).toMatch(/"id":/)

    await page.reload()
    await page.getByTestId('resumable-resumed').waitFor({ timeout: 10_000 })
    await page.waitForFunction(
      () => document.querySelector('[data-testid="resumable-status"]')?.getAttribute('data-status') === 'done',
      undefined,
      { timeout: 20_000 },
    )
    await page.getByTestId('resumable-answer').scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(screenshotDir, '2-token-stream-resumed.png') })

    // replay: 'all': the reloaded page shows the whole answer, each token once, in order.
    const text = await page.locator('[data-testid="resumable-answer"] > span:not(.bubble-meta)').textContent()
    expect(text).toBe(expected.join(''))
    expect(Number(await page.getByTestId('resumable-answer').getAttribute('data-tokens'))).toBe(expected.length)
    await until(async () => (await answers()).completed === 1, 'the answer to complete on the server')
    const stats = await answers()
    expect(stats.runs).toBe(1)
    expect(stats.resumes).toBeGreaterThanOrEqual(1)
    // The answer ended: the client forgot its position, so another reload starts nothing.
    expect(await page.evaluate(() => sessionStorage.getItem('sluice-playground:answer'))).toBeNull()
    expect(errors).toEqual([])
    await context.close()
  })
})
