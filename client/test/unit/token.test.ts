import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { encodeBootstrap, type Bootstrap } from "../../src/core/bootstrap.js";
import { BootstrapError, TokenError } from "../../src/core/errors.js";
import {
  isSpent,
  MIN_REFRESH_DELAY_MS,
  refreshDelayMs,
  TokenKeeper,
  tokenExpiryMs,
  tokenFromMasterPlaylist,
} from "../../src/core/token.js";

/** An unsigned JWT-shaped token with `exp` (seconds); the client never checks signatures. */
function jwt(expSecs: number | null, tag = "x"): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "EdDSA" })}.${b64(expSecs === null ? { cid: tag } : { exp: expSecs, cid: tag })}.sig-${tag}`;
}

function bootstrap(token: string | null): Bootstrap {
  return { v: 1, content: "c1", trackers: ["ws://t/announce"], token, swarms: { "v.m3u8": "a".repeat(40) }, integrity: "sha256-tags" };
}

test("the expiry of a token is read from its exp claim, and only from a JWT", () => {
  assert.equal(tokenExpiryMs(jwt(1_700_000_000)), 1_700_000_000_000);
  assert.equal(tokenExpiryMs(jwt(null)), null);
  for (const bad of ["", "abc", "a.!!!.c", `a.${Buffer.from("not json").toString("base64url")}.c`, `a.${Buffer.from('{"exp":"soon"}').toString("base64url")}.c`]) {
    assert.equal(tokenExpiryMs(bad), null, bad);
  }
});

test("a token is replaced a margin before it expires, a quarter of its life when short, never at once", () => {
  const now = 1_000_000;
  assert.equal(refreshDelayMs(now + 900_000, now, 60_000), 840_000);
  assert.equal(refreshDelayMs(now + 100_000, now, 60_000), 75_000);
  assert.equal(refreshDelayMs(now - 1, now, 60_000), MIN_REFRESH_DELAY_MS);
  assert.ok(isSpent(now + MIN_REFRESH_DELAY_MS, now));
  assert.ok(!isSpent(now + 10_000, now), "a 10 s token is short-lived, not spent");
  assert.ok(!isSpent(null, now), "a token without exp never goes stale");
});

test("the token is read from the bootstrap of a master playlist", () => {
  const t = jwt(2_000_000_000);
  const master = [
    "#EXTM3U",
    '#EXT-X-SESSION-DATA:DATA-ID="com.example.other",VALUE="x"',
    `#EXT-X-SESSION-DATA:DATA-ID="io.meshcdn.bootstrap",VALUE="${encodeBootstrap(bootstrap(t))}"`,
    "#EXT-X-STREAM-INF:BANDWIDTH=800000",
    "v.m3u8",
  ].join("\r\n");
  assert.equal(tokenFromMasterPlaylist(master), t);
  assert.throws(() => tokenFromMasterPlaylist("#EXTM3U\nv.m3u8\n"), BootstrapError);
  assert.throws(() => tokenFromMasterPlaylist('#EXT-X-SESSION-DATA:DATA-ID="io.meshcdn.bootstrap",VALUE="%%%"'), BootstrapError);
});

test("the keeper fetches a new token before expiry, once for concurrent asks, and tells who listens", async () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  try {
    const now = () => Date.now();
    const nowSecs = () => Math.floor(Date.now() / 1000);
    let fetches = 0;
    const keeper = new TokenKeeper(jwt(nowSecs() + 600, "first"), {
      fetchToken: async () => (fetches++, jwt(nowSecs() + 600, `t${fetches}`)),
      marginMs: 60_000,
      now,
      retryMs: 30_000,
    });
    const seen: (string | null)[] = [];
    keeper.on("token", (t) => seen.push(t));
    mock.timers.tick(539_000);
    await Promise.resolve();
    assert.equal(fetches, 0, "not before the margin");
    mock.timers.tick(1_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches, 1);
    assert.deepEqual(seen, [keeper.current]);
    assert.equal(tokenExpiryMs(keeper.current!), (nowSecs() + 600) * 1000);
    // Concurrent refreshes share one fetch.
    await Promise.all([keeper.refresh(), keeper.refresh(), keeper.refresh()]);
    assert.equal(fetches, 2);
    keeper.stop();
    mock.timers.tick(10_000_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches, 2, "nothing after stop()");
  } finally {
    mock.timers.reset();
  }
});

test("short-lived tokens are replaced at three quarters of their life, not in a loop", async () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  try {
    const nowSecs = () => Math.floor(Date.now() / 1000);
    let fetches = 0;
    const keeper = new TokenKeeper(jwt(nowSecs() + 10), {
      fetchToken: async () => (fetches++, jwt(nowSecs() + 10, `t${fetches}`)),
      marginMs: 60_000,
      now: () => Date.now(),
      retryMs: 30_000,
    });
    for (let i = 1; i <= 4; i++) {
      mock.timers.tick(7_500);
      await new Promise((r) => setImmediate(r));
      assert.equal(fetches, i, `refresh ${i} after 7.5 s`);
      assert.ok(keeper.expiresAtMs! - Date.now() >= 9_000, "always well before expiry");
    }
    keeper.stop();
  } finally {
    mock.timers.reset();
  }
});

test("a failed fetch is reported and retried; refreshIfStale only acts on a token due for replacement", async () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  try {
    const nowSecs = () => Math.floor(Date.now() / 1000);
    let fail = true;
    let fetches = 0;
    const keeper = new TokenKeeper(jwt(nowSecs() + 3600), {
      fetchToken: async () => {
        fetches++;
        if (fail) throw new Error("offline");
        return jwt(nowSecs() + 3600, "fresh");
      },
      marginMs: 60_000,
      now: () => Date.now(),
      retryMs: 30_000,
    });
    const errors: TokenError[] = [];
    keeper.on("error", (e) => errors.push(e));
    keeper.refreshIfStale();
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches, 0, "an hour left: not stale");
    mock.timers.tick(3_540_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TokenError && /offline/.test(errors[0].message));
    fail = false;
    mock.timers.tick(30_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(fetches, 2, "retried");
    assert.match(keeper.current!, /sig-fresh$/);
    keeper.stop();
  } finally {
    mock.timers.reset();
  }
});
