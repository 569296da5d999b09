import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/core/config.js";
import { reconnectDelayMs } from "../../src/core/tracker-client.js";
import { uploadOffReason } from "../../src/core/upload-policy.js";

test("config merges over defaults and rejects unknown or mistyped fields", () => {
  const c = resolveConfig({ httpUrgentWindowMs: 3000, uploadPolicy: { offWhenHidden: true } });
  assert.equal(c.httpUrgentWindowMs, 3000);
  assert.equal(c.maxPeers, DEFAULT_CONFIG.maxPeers);
  assert.equal(c.uploadPolicy.offWhenHidden, true);
  assert.equal(c.uploadPolicy.offOnSaveData, true);
  assert.throws(() => resolveConfig({ nope: 1 } as never), /unknown config field "nope"/);
  assert.throws(() => resolveConfig({ uploadPolicy: { nope: true } } as never), /uploadPolicy.nope/);
  assert.throws(() => resolveConfig({ maxPeers: -1 }), /must be a number/);
  assert.throws(() => resolveConfig({ uploadChunkBytes: 70_000 }), /uploadChunkBytes/);
  assert.equal(DEFAULT_CONFIG.httpUrgentWindowMs, 1500, "defaults are not mutated");
});

test("upload policy: config, Save-Data, metered, low battery, hidden page", () => {
  const p = resolveConfig({ uploadPolicy: { offWhenHidden: true } }).uploadPolicy;
  assert.equal(uploadOffReason(p, {}), null);
  assert.equal(uploadOffReason({ ...p, disabled: true }, {}), "config");
  assert.equal(uploadOffReason(p, { saveData: true }), "save-data");
  assert.equal(uploadOffReason(p, { connectionType: "cellular" }), "metered");
  assert.equal(uploadOffReason(p, { connectionType: "wifi" }), null);
  assert.equal(uploadOffReason(p, { batteryLevel: 0.1, charging: false }), "low-battery");
  assert.equal(uploadOffReason(p, { batteryLevel: 0.1, charging: true }), null);
  assert.equal(uploadOffReason(p, { hidden: true }), "hidden");
  assert.equal(uploadOffReason({ ...p, offOnSaveData: false }, { saveData: true }), null);
});

test("tracker reconnect: the other URLs at once, then exponential backoff with a cap", () => {
  assert.equal(reconnectDelayMs(0, 2, 1000, 30000, 0.5), 0);
  assert.equal(reconnectDelayMs(1, 2, 1000, 30000, 0.5), 0, "fail over to the second URL at once");
  assert.equal(reconnectDelayMs(2, 2, 1000, 30000, 0.5), 1000, "both failed: back off");
  assert.equal(reconnectDelayMs(3, 2, 1000, 30000, 0.5), 1000);
  assert.equal(reconnectDelayMs(4, 2, 1000, 30000, 0.5), 2000);
  assert.equal(reconnectDelayMs(6, 2, 1000, 30000, 0.5), 4000);
  assert.equal(reconnectDelayMs(99, 2, 1000, 30000, 0.5), 30000);
  assert.equal(reconnectDelayMs(1, 1, 1000, 30000, 0), 750, "jitter spreads retries");
});
