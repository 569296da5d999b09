// The reference WebTorrent tracker (bittorrent-tracker's server, WebSocket only) on loopback,
// for benchmarks and interop comparisons. Prints `listening <port>`; stops on SIGTERM/SIGINT.
import Server from 'bittorrent-tracker/server'

const port = Number(process.argv[2] ?? 0)
const host = process.argv[3] ?? '127.0.0.1'
const server = new Server({ http: false, udp: false, ws: true, stats: false, trustProxy: false })
server.on('error', (err) => console.error(`error: ${err.message}`))
server.on('warning', () => {})
server.listen(port, host, () => {
  console.log(`listening ${server.ws.address().port}`)
})
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
