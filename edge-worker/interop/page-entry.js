// What the test page gets: the real bittorrent-tracker client.
import Client from 'bittorrent-tracker/client'

globalThis.BtClient = Client
