// Two viewers, each in its own Chromium browser context, run the real bittorrent-tracker client
// against the tracker at argv[2] (swarm argv[3], 40 hex): viewer A announces first, viewer B's
// offers reach A through the tracker, A's answer returns to B with B's offer_id (the client
// matches answers to its pending offers by offer_id), and the WebRTC data channel opens and
// carries a message each way. Then both scrape. Prints one JSON report on stdout.
// Run inside a network namespace (scripts/netns.sh): WebRTC needs an interface with a route.
import { readFileSync } from 'node:fs'
import { chromium } from 'playwright-core'

const [url, infoHash] = process.argv.slice(2)
if (!url || !/^[0-9a-f]{40}$/.test(infoHash ?? '')) {
  console.error('usage: node run-swarm.mjs WS_URL INFO_HASH_HEX')
  process.exit(2)
}
const TIMEOUT_MS = 60_000
const watchdog = setTimeout(() => {
  console.error('run-swarm: timed out')
  process.exit(3)
}, TIMEOUT_MS + 15_000)

const bundle = readFileSync(new URL('./dist/bt-client.js', import.meta.url), 'utf8')
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ],
})

async function viewer (name, peerIdHex) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('console', (m) => console.error(`[${name}] ${m.text()}`))
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`))
  await page.setContent(`<html><body>${name}</body></html>`)
  await page.addScriptTag({ content: bundle })
  await page.evaluate(({ url, infoHash, peerIdHex, name }) => {
    const r = window.result = { name, updates: [], peers: [], connected: false, received: null, errors: [], warnings: [], scrape: null }
    const client = window.client = new globalThis.BtClient({ infoHash, peerId: peerIdHex, announce: [url], port: 6881 })
    client.on('error', (e) => r.errors.push(String(e.message ?? e)))
    client.on('warning', (e) => r.warnings.push(String(e.message ?? e)))
    client.on('update', (d) => r.updates.push({ complete: d.complete, incomplete: d.incomplete }))
    client.on('scrape', (d) => { r.scrape = { complete: d.complete, incomplete: d.incomplete } })
    client.on('peer', (peer) => {
      r.peers.push({ id: peer.id, initiator: !!peer.initiator })
      peer.on('connect', () => {
        r.connected = true
        peer.send(`hello from ${name}`)
      })
      peer.on('data', (d) => { r.received = new TextDecoder().decode(d) })
      peer.on('error', (e) => r.errors.push(`peer: ${e.message}`))
    })
    client.start()
  }, { url, infoHash, peerIdHex, name })
  return page
}

let code = 0
const report = {}
try {
  const a = await viewer('A', 'a1'.repeat(20))
  await a.waitForFunction(() => window.result.updates.length > 0, null, { timeout: TIMEOUT_MS })
  const b = await viewer('B', 'b2'.repeat(20))
  for (const page of [a, b]) {
    await page.waitForFunction(() => window.result.connected && window.result.received, null, { timeout: TIMEOUT_MS })
  }
  for (const page of [a, b]) {
    await page.evaluate(() => window.client.scrape())
    await page.waitForFunction(() => window.result.scrape, null, { timeout: TIMEOUT_MS })
  }
  report.A = await a.evaluate(() => window.result)
  report.B = await b.evaluate(() => window.result)
} catch (e) {
  console.error(`run-swarm: ${e.message}`)
  code = 1
} finally {
  await browser.close().catch(() => {})
  clearTimeout(watchdog)
}
console.log(JSON.stringify(report))
process.exit(code)
