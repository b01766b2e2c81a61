import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { sendEventStream } from '@sluice/server-kit'
import { readJsonBody } from './http.js'

/** What the token page posts. */
interface CompletionRequest {
  prompt: string
  /** Throw after this many tokens, to show how an error mid-stream reaches the browser. */
  failAfter?: number
}

/** One completion request, as the server saw it: the page lists these to prove aborts arrive. */
export interface CompletionRecord {
  readonly id: number
  readonly prompt: string
  tokens: number
  outcome: 'streaming' | 'completed' | 'aborted' | 'failed'
}

const TOKEN_MS = 35
const MAX_PROMPT = 2000

/** A deterministic fake answer: the same prompt always streams the same tokens. No model, no network. */
export function fakeAnswer(prompt: string): string[] {
  const topic = prompt.trim().replace(/\s+/g, ' ').slice(0, 60) || 'streams'
  const text =
    `Here is a streamed answer about "${topic}". ` +
    'Each word you see arrived as its own Server-Sent Event over a POST request, the way chat APIs stream tokens. ' +
    'The client reads them with createEventStream: it parses every event with eventsource-parser, applies the done() ' +
    'predicate to the final [DONE] marker so JSON.parse never sees it, and never retries a POST on its own because ' +
    'replaying a non-idempotent request could run it twice. Press Stop at any moment: the fetch is aborted, the ' +
    'server notices the disconnect, and its generator runs its finally block, which is how this page knows the ' +
    'request ended early. Tick the failure box to see an error sent in band as an error event, shown instead of swallowed.'
  // Keep the whitespace attached to each token, as real tokenizers do.
  return text.match(/\S+\s*/g) ?? []
}

/** `POST /api/tokens`: streams a fake completion token by token as SSE, ending with `[DONE]`. */
export class Completions {
  readonly #records: CompletionRecord[] = []
  #nextId = 1

  constructor(private readonly shutdown: AbortSignal) {}

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, res, 16 * 1024)
    if (body === undefined) return
    const request = parseRequest(body)
    if (typeof request === 'string') {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(request)
      return
    }
    const record: CompletionRecord = { id: this.#nextId++, prompt: request.prompt, tokens: 0, outcome: 'streaming' }
    this.#records.unshift(record)
    this.#records.length = Math.min(this.#records.length, 20)
    const tokens = fakeAnswer(request.prompt)
    await sendEventStream(
      req,
      res,
      async function* ({ signal }) {
        for (const token of tokens) {
          if (request.failAfter !== undefined && record.tokens >= request.failAfter) {
            throw new Error(`The fake model failed after ${record.tokens} tokens (you asked it to)`)
          }
          // The signal stops the wait at once when the client leaves, so `finally` runs right away.
          await delay(TOKEN_MS, undefined, { signal })
          record.tokens++
          yield { event: 'token', data: token }
        }
        yield { data: '[DONE]' }
      },
      {
        signal: this.shutdown,
        onError: (error: unknown) => ({
          event: 'error',
          data: { message: error instanceof Error ? error.message : 'The completion failed' },
        }),
        onClose: (reason) => {
          record.outcome =
            reason === 'end'
              ? 'completed'
              : reason === 'error'
                ? 'failed'
                : reason === 'disconnect'
                  ? 'aborted'
                  : 'aborted'
        },
      },
    )
  }

  /** The latest requests, newest first. */
  records(): readonly CompletionRecord[] {
    return this.#records
  }
}

function parseRequest(body: unknown): CompletionRequest | string {
  if (typeof body !== 'object' || body === null) return 'Expected a JSON object { "prompt": string }'
  const { prompt, failAfter } = body as Record<string, unknown>
  if (typeof prompt !== 'string' || prompt.length > MAX_PROMPT) {
    return `"prompt" must be a string of at most ${MAX_PROMPT} characters`
  }
  if (failAfter !== undefined && (typeof failAfter !== 'number' || !Number.isInteger(failAfter) || failAfter < 0)) {
    return '"failAfter" must be a non-negative integer'
  }
  return failAfter === undefined ? { prompt } : { prompt, failAfter }
}
