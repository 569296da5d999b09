/**
 * RTCPeerConnection set-up for the tracker's one-shot signalling: the tracker relays exactly one
 * offer and one answer, so SDPs are sent only after ICE gathering finished (no trickle).
 */

export const CHANNEL_LABEL = "meshcdn/1";

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

/** Resolves when the channel is open, false if it closes or `timeoutMs` passes first. */
export function channelOpen(channel: RTCDataChannel, timeoutMs: number): Promise<boolean> {
  if (channel.readyState === "open") return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    channel.addEventListener("open", () => (clearTimeout(t), resolve(true)));
    channel.addEventListener("close", () => (clearTimeout(t), resolve(false)));
  });
}
