import { fileURLToPath } from 'node:url'
import { startDemoServer } from './app.js'

// The demo server: the built app and every API/stream endpoint on one port.
// PORT=0 picks a free port (the end-to-end suite does that); HOST defaults to loopback only.
const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`)
  process.exit(1)
}

const demo = await startDemoServer({
  port,
  host,
  staticDir: fileURLToPath(new URL('../dist/', import.meta.url)),
}).catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE')
    console.error(`Port ${port} on ${host} is in use: start with another PORT, e.g. PORT=3001.`)
  else if (code === 'EADDRNOTAVAIL') console.error(`HOST ${host} is not an address of this machine.`)
  else console.error(error)
  process.exit(1)
})
// The end-to-end suite reads this exact line to learn the port.
console.log(`Sluice playground ready at ${demo.url}`)

let closing = false
function shutdown(signal: string): void {
  if (closing) return
  closing = true
  console.log(`\n${signal}: closing streams and sockets…`)
  demo.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))
