/**
 * RTCPeerConnection set-up for the tracker's one-shot signalling: the tracker relays exactly one
 * offer and one answer, so SDPs are sent only after ICE gathering finished (no trickle).
 */

export const CHANNEL_LABEL = "meshcdn/1";

/**
 * STUN used when neither the page (`iceServers`) nor the origin (bootstrap `ice`) names any: a
 * public server, so viewers behind ordinary home NATs still find each other (srflx candidates).
 * Publishers should run their own STUN/TURN (docs/origin.md) and list it in the origin config.
 */
export const DEFAULT_ICE_SERVERS: readonly RTCIceServer[] = Object.freeze([{ urls: ["stun:stun.l.google.com:19302"] }]);

/** The ICE servers to use: the page's override, else the bootstrap's, else the default. */
export function resolveIceServers(page: RTCIceServer[] | null, bootstrap: RTCIceServer[] | undefined): RTCIceServer[] {
  if (page !== null) return page;
  if (bootstrap !== undefined) return bootstrap;
  return DEFAULT_ICE_SERVERS.map((s) => ({ ...s, urls: Array.isArray(s.urls) ? [...s.urls] : s.urls }));
}

function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    // Whatever was gathered by then is sent; usually host candidates arrive within milliseconds.
    const t = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * Holds the channel's messages until the peer session takes over: a peer may send its HELLO the
 * moment the channel opens, before our session is attached, and an unheard HELLO is never resent.
 */
export function bufferMessages(channel: RTCDataChannel): () => unknown[] {
  const early: unknown[] = [];
  const onMessage = (ev: MessageEvent) => early.push(ev.data);
  channel.binaryType = "arraybuffer";
  channel.addEventListener("message", onMessage);
  return () => {
    channel.removeEventListener("message", onMessage);
    return early;
  };
}

export interface PendingOffer {
  pc: RTCPeerConnection;
  channel: RTCDataChannel;
  takeEarly: () => unknown[];
  sdp: string;
}

/** An offering side: a connection with our data channel and a complete offer SDP. */
export async function createOffer(iceServers: RTCIceServer[], gatherTimeoutMs: number): Promise<PendingOffer> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    const channel = pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
    const takeEarly = bufferMessages(channel);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, gatherTimeoutMs);
    return { pc, channel, takeEarly, sdp: pc.localDescription!.sdp };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** An answering side: takes a peer's offer, returns the connection, a promise of its channel and our answer SDP. */
export async function acceptOffer(
  iceServers: RTCIceServer[],
  gatherTimeoutMs: number,
  offerSdp: string,
): Promise<{ pc: RTCPeerConnection; channel: Promise<{ channel: RTCDataChannel; takeEarly: () => unknown[] }>; sdp: string }> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    const channel = new Promise<{ channel: RTCDataChannel; takeEarly: () => unknown[] }>((resolve) => {
      pc.addEventListener("datachannel", (ev) => {
        if (ev.channel.label === CHANNEL_LABEL) resolve({ channel: ev.channel, takeEarly: bufferMessages(ev.channel) });
        else ev.channel.close(); // not ours
      });
    });
    await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, gatherTimeoutMs);
    return { pc, channel, sdp: pc.localDescription!.sdp };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/**
 * Resolves "open" when the channel opens; "failed" if it closes or the connection fails (ICE found
 * no working candidate pair), "timeout" if `timeoutMs` passes first.
 */
export function channelOpen(channel: RTCDataChannel, timeoutMs: number, pc?: RTCPeerConnection): Promise<"open" | "failed" | "timeout"> {
  if (channel.readyState === "open") return Promise.resolve("open");
  return new Promise((resolve) => {
    const done = (outcome: "open" | "failed" | "timeout") => {
      clearTimeout(t);
      pc?.removeEventListener("connectionstatechange", onState);
      resolve(outcome);
    };
    const onState = () => {
      if (pc?.connectionState === "failed" || pc?.connectionState === "closed") done("failed");
    };
    const t = setTimeout(() => done("timeout"), timeoutMs);
    channel.addEventListener("open", () => done("open"));
    channel.addEventListener("close", () => done("failed"));
    pc?.addEventListener("connectionstatechange", onState);
  });
}
