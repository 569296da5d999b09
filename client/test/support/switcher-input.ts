/** Inputs for the switcher's pure decisions, shared by the switcher and scheduler unit tests. */
import type { PeerView, SwitcherInput } from "../../src/core/switcher.js";

/** A connected, uploading peer that has nothing yet, with `o` on top. */
export const peerView = (id: string, o: Partial<PeerView> = {}): PeerView => ({ id, uploadEnabled: true, has: false, fetching: false, inFlight: 0, ...o });

/** Segment 10, 6 s before its deadline, alone in the swarm, with `o` on top. */
export const switcherInput = (o: Partial<SwitcherInput> = {}): SwitcherInput => ({
  sn: 10,
  timeToDeadlineMs: 6000,
  selfId: "me",
  selfUploadEnabled: true,
  p2pAllowed: true,
  peers: [],
  p2pFailed: false,
  awaitingPeers: false,
  httpUrgentWindowMs: 1500,
  maxInFlightPerPeer: 2,
  ...o,
});
