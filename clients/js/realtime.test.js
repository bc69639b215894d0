// Unit test of realtime.js with a fake WebSocket (node clients/js/realtime.test.js): rejoin after a
// reconnect, queued requests survive a failed attempt, in-flight ones fail with disconnected.
const Realtime = require('./realtime.js');
const sockets = [];
class FakeWS {
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
  send(d) { this.sent.push(JSON.parse(d)); }
  close() { this.readyState = 3; }
  open(id) { this.readyState = 1; this.onopen && this.onopen(); this.onmessage({ data: JSON.stringify({ type: 'welcome', payload: { id, node: 'n', heartbeat: 25 } }) }); }
  drop(code) { this.readyState = 3; this.onclose({ code: code || 1006, reason: '' }); }
  reply(f) { this.onmessage({ data: JSON.stringify(f) }); }
}
let failed = 0;
const check = (cond, what) => { if (!cond) { failed++; console.error('FAIL: ' + what); } };
(async () => {
  const rt = new Realtime('ws://x/realtime', { WebSocket: FakeWS, minDelay: 10, maxDelay: 20, timeout: 500 });
  const events = [];
  rt.on('close', (e) => events.push(['close', e.code]));
  sockets[0].open('c1');
  const j = rt.join('room1', { name: 'a' });
  sockets[0].reply({ type: 'ack', id: 1, payload: { room: 'room1', members: [] } });
  await j;
  const inflight = rt.request('x', { room: 'room1' });
  sockets[0].drop();
  let code; try { await inflight; } catch (e) { code = e.code; }
  check(code === 'disconnected', 'in-flight request fails with disconnected: ' + code);
  const queued = rt.request('y', { room: 'room1' });       // offline: queued
  await new Promise((r) => setTimeout(r, 30));
  sockets[1].drop();                                         // reconnect attempt fails
  await new Promise((r) => setTimeout(r, 40));
  sockets[2].open('c2');
  const s = sockets[2].sent;
  check(s[0].type === 'room:join' && s[0].room === 'room1' && s[0].payload.name === 'a', 'rejoin first: ' + JSON.stringify(s));
  check(s[1].type === 'y', 'then the queued request: ' + JSON.stringify(s));
  sockets[2].reply({ type: 'ack', id: s[1].id, payload: { ok: 1 } });
  const v = await queued;
  check(v.ok === 1, 'queued request resolved');
  check(rt.id === 'c2', 'new id');
  const err = rt.request('z'); sockets[2].reply({ type: 'error', id: sockets[2].sent[2].id, payload: { code: 'unknown_type', message: 'm' } });
  try { await err; } catch (e) { check(e.code === 'unknown_type', 'error code'); }
  rt.close();
  check(events.length === 2, 'two close events');
  console.log(failed ? failed + ' failed' : 'ok');
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
