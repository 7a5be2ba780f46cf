/**
 * The memory child of the chat rows: one client (`sdk`, `openai` or `raw`, bench/chat-clients.ts) consumes a
 * 1,000-chunk stream (warm-up), then a 5,000-chunk and a 50,000-chunk one, keeping nothing but a character count.
 * RSS is sampled every 2 ms during each stream; prints one line of JSON with the peak of each and the heap the
 * 50,000-chunk stream left behind after a full GC (bytes).
 *
 *   node --import tsx --expose-gc bench/chat-memory-child.ts MODE BASE_URL API_KEY STATE_DIR
 */
import { type ChatClient, openaiClient, rawClient, sdkClient } from "./chat-clients.js"

const [mode, baseUrl, apiKey, stateDir] = process.argv.slice(2)
if (mode === undefined || baseUrl === undefined || apiKey === undefined || stateDir === undefined) {
  throw new Error("usage: chat-memory-child MODE BASE_URL API_KEY STATE_DIR")
}
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

const peakOver = async (client: ChatClient, chunks: number): Promise<{ peak: number; chars: number }> => {
  gc()
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 2)
  let chars = 0
  await client.stream(`bench/burst-${chunks}`, (delta) => {
    chars += delta.length
  })
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage.rss())
  return { peak, chars }
}

const main = async () => {
  const client = mode === "sdk"
    ? await sdkClient(baseUrl, apiKey, stateDir)
    : mode === "openai"
    ? openaiClient(baseUrl, apiKey)
    : rawClient(baseUrl, apiKey)
  await peakOver(client, 1000)
  await peakOver(client, 1000)
  gc()
  const base = process.memoryUsage.rss()
  const small = await peakOver(client, 5000)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const large = await peakOver(client, 50_000)
  gc()
  // What the 50,000-chunk stream left behind once collected: retention, as opposed to short-lived garbage.
  const heapRetained = process.memoryUsage().heapUsed - heapBefore
  await client.close()
  process.stdout.write(
    `${
      JSON.stringify({
        base,
        peak5k: small.peak,
        peak50k: large.peak,
        heapRetained,
        chars5k: small.chars,
        chars50k: large.chars
      })
    }\n`
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`chat-memory-child: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
