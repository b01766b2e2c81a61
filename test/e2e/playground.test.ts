import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  numberIn,
  openPage,
  type Playground,
  screenshotDir,
  startPlayground,
  until,
  type WatchedPage,
} from './harness.js'

let playground: Playground
let browser: Browser
const watched: WatchedPage[] = []

beforeAll(async () => {
  mkdirSync(screenshotDir, { recursive: true })
  playground = await startPlayground()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await playground?.stop()
})

/** A fresh context and page at `route` of the playground. */
async function visit(route: string): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true })
  const watchedPage = await openPage(context)
  watched.push(watchedPage)
  await watchedPage.page.goto(`${playground.url}/#/${route}`)
  return watchedPage
}

function status(page: Page, testId: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute('data-status')
}

async function waitForStatus(page: Page, testId: string, expected: string | RegExp, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    ([id, source]) => {
      const value = document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-status') ?? ''
      return new RegExp(source as string).test(value)
    },
    [testId, typeof expected === 'string' ? `^${expected}$` : expected.source],
    { timeout },
  )
}

async function waitForNumber(page: Page, testId: string, atLeast: number, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    ([id, min]) => {
      const text = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''
      return Number(text.replace(/[^\d-]/g, '')) >= (min as number)
    },
    [testId, atLeast],
    { timeout },
  )
}

describe('playground (built, in Chromium)', () => {
  it('every page renders with the sidebar and its network panel', async () => {
    const { page, errors } = await visit('feed')
    for (const [route, heading] of [
      ['feed', 'Live feed'],
      ['tokens', 'Token stream'],
      ['data', 'Big data'],
      ['chat', 'Chat'],
      ['download', 'Download'],
    ] as const) {
      await page.goto(`${playground.url}/#/${route}`)
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(heading)
      await expect(page.getByRole('navigation', { name: 'Demos' }).getByRole('link').count()).resolves.toBe(5)
      await expect(page.getByLabel('Network').isVisible()).resolves.toBe(true)
      await expect(page.getByTestId('network-status').isVisible()).resolves.toBe(true)
    }
    expect(errors).toEqual([])
  })

  it('1. live feed: shows ticks, and after "Drop connection" reconnects and resumes with no gap', async () => {
    const { page, errors } = await visit('feed')
    await waitForStatus(page, 'feed-status', 'open')
    await waitForNumber(page, 'received', 8)
    await waitForNumber(page, 'network-bytes', 1)
    expect(await page.locator('svg.chart path.chart-line').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/)
    await page.screenshot({ path: join(screenshotDir, '1-live-feed.png') })

    const before = await numberIn(page, 'received')
    const statsBefore = await playground.stats()
    await page.getByTestId('drop').click()
    // The server cut the stream and holds reconnections for a second: the client must resume.
    await waitForNumber(page, 'connections', 2)
    await waitForStatus(page, 'feed-status', 'open')
    await waitForNumber(page, 'received', before + 10)
    // Ticks published while the client was away came back through Last-Event-ID replay.
    await waitForNumber(page, 'replayed', 1)
    expect(await numberIn(page, 'gaps')).toBe(0)
    expect(await numberIn(page, 'duplicates')).toBe(0)
    const statsAfter = await playground.stats()
    expect(statsAfter.feed.drops).toBeGreaterThan(statsBefore.feed.drops)
    expect(statsAfter.feed.resumes).toBeGreaterThan(statsBefore.feed.resumes)
    await page.screenshot({ path: join(screenshotDir, '1-live-feed-after-drop.png') })
    expect(errors).toEqual([])
  })

  it('2. token stream: streams tokens, Stop aborts the request on the server, an error mid-stream is shown', async () => {
    const { page, errors } = await visit('tokens')
    await page.getByTestId('prompt').fill('What does Stop do?')
    await page.getByTestId('send').click()
    await waitForStatus(page, 'token-status', 'streaming')
    await page.waitForFunction(() => {
      const meta = document.querySelector('[data-testid="answer"] .bubble-meta')?.textContent ?? ''
      return Number.parseInt(meta, 10) >= 8
    })
    await page.screenshot({ path: join(screenshotDir, '2-token-stream.png') })
    await page.getByTestId('stop').click()
    await page.waitForSelector('[data-testid="answer"][data-outcome="stopped"]')
    // The server saw the client leave: its generator ended early and recorded the abort.
    await until(
      async () => (await playground.stats()).tokens[0]?.outcome === 'aborted',
      'the server to record the abort',
    )
    const record = (await playground.stats()).tokens[0]!
    expect(record.tokens).toBeGreaterThanOrEqual(8)
    expect(record.tokens).toBeLessThan(60)
    await page.waitForSelector('[data-testid="server-log"] li[data-outcome="aborted"]')

    await page.getByLabel('Fail mid-stream').check()
    await page.getByTestId('send').click()
    await page.waitForSelector('[data-testid="token-error"]', { timeout: 10_000 })
    expect(await page.getByTestId('token-error').textContent()).toMatch(/failed after 25 tokens/)
    await waitForStatus(page, 'token-status', 'error')
    await until(
      async () => (await playground.stats()).tokens[0]?.outcome === 'failed',
      'the server to record the failure',
    )
    await page.screenshot({ path: join(screenshotDir, '2-token-stream-error.png') })
    expect(errors).toEqual([])
  })

  it('3. big data: loads 100,000 NDJSON rows with progress and the latest rows', async () => {
    const { page, errors } = await visit('data')
    await page.getByTestId('load').click()
    await page.waitForFunction(
      () => document.querySelector('[data-testid="row-count"]')?.getAttribute('data-count') === '100000',
      undefined,
      { timeout: 40_000 },
    )
    await waitForStatus(page, 'rows-status', 'done')
    const firstRow = await page.getByTestId('latest-rows').locator('tr').first().locator('td').first().textContent()
    expect(firstRow).toBe('100,000')
    expect(await page.getByTestId('latest-rows').locator('tr').count()).toBe(10)
    expect(await numberIn(page, 'rows-per-second')).toBeGreaterThan(0)
    await page.screenshot({ path: join(screenshotDir, '3-big-data.png') })
    expect(errors).toEqual([])
  })

  it('4. chat: two browsers chat; a line sent while the socket is down arrives after the reconnect', async () => {
    const alice = await visit('chat')
    const bob = await visit('chat')
    await waitForStatus(alice.page, 'chat-status', 'open')
    await waitForStatus(bob.page, 'chat-status', 'open')
    await waitForNumber(alice.page, 'presence', 2)
    await waitForNumber(bob.page, 'presence', 2)

    await alice.page.getByTestId('chat-input').fill('hello from alice')
    await alice.page.getByTestId('chat-send').click()
    await bob.page.getByTestId('chat-lines').getByText('hello from alice').waitFor()
    await bob.page.getByTestId('chat-input').fill('hi alice, bob here')
    await bob.page.getByTestId('chat-send').click()
    await alice.page.getByTestId('chat-lines').getByText('hi alice, bob here').waitFor()

    await alice.page.getByTestId('restart').click()
    await waitForStatus(alice.page, 'chat-status', /^(reconnecting|connecting)$/)
    await alice.page.getByTestId('chat-input').fill('sent while offline')
    await alice.page.getByTestId('chat-send').click()
    // It waits in the queue, visibly, while the socket is down.
    await alice.page.getByTestId('chat-queued').getByText('sent while offline').waitFor()
    await alice.page.screenshot({ path: join(screenshotDir, '4-chat-offline.png') })
    await waitForStatus(alice.page, 'chat-status', 'open')
    await bob.page.getByTestId('chat-lines').getByText('sent while offline').waitFor()
    await alice.page.getByTestId('chat-lines').getByText('sent while offline').waitFor()
    expect(await alice.page.getByTestId('chat-queued').count()).toBe(0)
    expect((await playground.stats()).chat.restarts).toBeGreaterThanOrEqual(1)
    await waitForNumber(bob.page, 'presence', 2)
    await bob.page.screenshot({ path: join(screenshotDir, '4-chat.png') })
    expect(alice.errors).toEqual([])
    expect(bob.errors).toEqual([])
  })

  it('5. download: a streamed file is saved by the browser with its name and exact size; Cancel aborts', async () => {
    const { page, errors } = await visit('download')
    await page.getByTestId('size').selectOption(String(10 * 1024 * 1024))
    const saved = page.waitForEvent('download')
    await page.getByTestId('download').click()
    const download = await saved
    expect(download.suggestedFilename()).toBe('sluice-sensors-10MB.csv')
    const folder = mkdtempSync(join(tmpdir(), 'sluice-e2e-'))
    try {
      const path = join(folder, download.suggestedFilename())
      await download.saveAs(path)
      expect(statSync(path).size).toBe(10 * 1024 * 1024)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
    await waitForStatus(page, 'download-status', 'done')
    expect(await page.getByTestId('saved-as').textContent()).toBe('sluice-sensors-10MB.csv')
    expect(await page.getByTestId('download-loaded').getAttribute('data-loaded')).toBe(String(10 * 1024 * 1024))
    await page.screenshot({ path: join(screenshotDir, '5-download.png') })

    await page.getByTestId('size').selectOption(String(200 * 1024 * 1024))
    await page.getByTestId('download').click()
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="download-loaded"]')?.getAttribute('data-loaded')) > 0,
    )
    await page.getByTestId('cancel').click()
    await waitForStatus(page, 'download-status', 'closed')
    expect(await status(page, 'download-status')).toBe('closed')
    expect(errors).toEqual([])
  })
})
