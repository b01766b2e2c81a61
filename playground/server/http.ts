import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Reads a JSON request body of at most `maxBytes`. Answers 413 or 400 itself and returns
 * `undefined` when the body is too large or not JSON, so the caller only handles the happy path.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > maxBytes) {
      res
        .writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
        .end(`The request body is larger than ${maxBytes} bytes`)
      return undefined
    }
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch (error) {
    res
      .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`The request body is not JSON: ${(error as Error).message}`)
    return undefined
  }
}

/** Sends `value` as a JSON response. */
export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  })
  res.end(body)
}
