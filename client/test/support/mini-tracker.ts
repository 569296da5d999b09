/**
 * A minimal WebTorrent WebSocket tracker for the tracker client's unit tests only (reconnect,
 * failover, frame validation in node without a browser). The browser tests always run the real
 * `meshcdn edge`. Relays each offer to one other peer of the swarm and each answer back.
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

export interface MiniTracker {
  url: string;
  close(): Promise<void>;
}

export async function startMiniTracker(host: string): Promise<MiniTracker> {
  const wss = new WebSocketServer({ host, port: 0, path: "/announce", maxPayload: 64 * 1024 });
  const swarms = new Map<string, Map<string, WebSocket>>();
  wss.on("connection", (ws) => {
    const mine = new Set<string>();
    ws.on("message", (raw) => {
      let m: Record<string, any>;
      try {
        m = JSON.parse(raw.toString());
      } catch {
        return ws.send(JSON.stringify({ "failure reason": "invalid JSON" }));
      }
      if (m.action !== "announce" || typeof m.info_hash !== "string" || typeof m.peer_id !== "string") return;
      let swarm = swarms.get(m.info_hash);
      if (!swarm) swarms.set(m.info_hash, (swarm = new Map()));
      if (m.event === "stopped") {
        swarm.delete(m.peer_id);
        return;
      }
      swarm.set(m.peer_id, ws);
      mine.add(`${m.info_hash}\n${m.peer_id}`);
      if (m.answer && typeof m.to_peer_id === "string") {
        swarm.get(m.to_peer_id)?.send(JSON.stringify({ action: "announce", info_hash: m.info_hash, peer_id: m.peer_id, offer_id: m.offer_id, answer: m.answer }));
        return;
      }
      const others = [...swarm.keys()].filter((id) => id !== m.peer_id);
      for (const [i, o] of (Array.isArray(m.offers) ? m.offers : []).entries()) {
        const to = others[i];
        if (!to) break;
        swarm.get(to)!.send(JSON.stringify({ action: "announce", info_hash: m.info_hash, peer_id: m.peer_id, offer_id: o.offer_id, offer: o.offer }));
      }
      ws.send(JSON.stringify({ action: "announce", info_hash: m.info_hash, interval: 120, complete: 0, incomplete: swarm.size }));
    });
    ws.on("close", () => {
      for (const key of mine) {
        const [ih, id] = key.split("\n") as [string, string];
        if (swarms.get(ih)?.get(id) === ws) swarms.get(ih)!.delete(id);
      }
    });
  });
  await new Promise<void>((resolve) => wss.on("listening", () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://${host}:${port}/announce`,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
