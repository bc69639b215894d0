/* realtime.js: the browser client of realtime-core (docs/protocol.md). No dependencies.
 *
 * Classic script:  <script src="realtime.js"></script>  then  new Realtime(url)  (window.Realtime)
 * ES module:       import Realtime from './realtime.esm.js'  (a small wrapper around this file; .js, not .mjs, so
 *                  any static server sends it as JavaScript)
 * CommonJS:        const Realtime = require('./realtime.js')
 *
 *   const rt = new Realtime();                          // ws(s)://<this host>/realtime
 *   rt.on('welcome', () => console.log('I am', rt.id));
 *   rt.on('chat:message', (msg) => console.log(msg.from, msg.payload));
 *   await rt.join('lobby', { name: 'ann' });            // -> {room, members}
 *   await rt.request('chat:message', { room: 'lobby', payload: { text: 'hi' } });
 *
 * The client reconnects by itself (exponential backoff with jitter) and joins again, with the
 * same meta, every room it had joined. Requests made while disconnected wait for the next
 * connection (and their own timeout).
 */
(function (root, factory) {
  var Realtime = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = Realtime;
  if (root) root.Realtime = Realtime;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  /** An error answered by the server ({code, message}) or made up locally (timeout, disconnected). */
  class RealtimeError extends Error {
    constructor(code, message, frame) {
      super(message || code);
      this.name = 'RealtimeError';
      /** One of the contract's codes (bad_request, not_in_room, ...), or 'timeout' / 'disconnected' / 'closed'. */
      this.code = code;
      this.frame = frame;
    }
  }

  function defaultUrl() {
    var loc = typeof location !== 'undefined' ? location : null;
    if (!loc) throw new Error('Realtime: no url given and no location to derive one from');
    return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/realtime';
  }

  /**
   * A connection to a realtime-core gateway.
   * @param {string} [url] ws:// or wss:// URL; default ws(s)://location.host/realtime
   * @param {object} [opts]
   * @param {number} [opts.timeout=10000] default request timeout, ms
   * @param {boolean} [opts.reconnect=true] reconnect after the connection drops
   * @param {number} [opts.minDelay=500] first reconnect delay, ms (doubles per attempt)
   * @param {number} [opts.maxDelay=30000] reconnect delay cap, ms
   * @param {number} [opts.maxQueue=1000] messages kept while disconnected
   * @param {boolean} [opts.autoConnect=true] connect in the constructor
   * @param {Function} [opts.WebSocket] WebSocket implementation (default: the global one)
   */
  class Realtime {
    constructor(url, opts) {
      opts = opts || {};
      this.url = url || defaultUrl();
      this.opts = {
        timeout: opts.timeout || 10000,
        reconnect: opts.reconnect !== false,
        minDelay: opts.minDelay || 500,
        maxDelay: opts.maxDelay || 30000,
        maxQueue: opts.maxQueue || 1000,
        WebSocket: opts.WebSocket || (typeof WebSocket !== 'undefined' ? WebSocket : null),
      };
      /** This connection's id (from the welcome frame); null until welcomed. */
      this.id = null;
      /** The router node serving this connection. */
      this.node = null;
      /** 'idle' | 'connecting' | 'open' (welcomed) | 'reconnecting' | 'closed' */
      this.state = 'idle';
      this._ws = null;
      this._handlers = new Map();   // type -> Set(fn)
      this._pending = new Map();    // id -> {resolve, reject, timer}
      this._rooms = new Map();      // room -> meta, re-joined after a reconnect
      this._outbox = [];            // frames waiting for the next welcome
      this._nextId = 1;
      this._attempt = 0;
      this._timer = null;
      this._closedByUser = false;
      if (opts.autoConnect !== false) this.connect();
    }

    /** Opens the connection (no-op when already open or connecting). */
    connect() {
      if (this._ws && this._ws.readyState <= 1) return this;
      this._closedByUser = false;
      clearTimeout(this._timer);
      this.state = this._attempt ? 'reconnecting' : 'connecting';
      var WS = this.opts.WebSocket;
      var ws = new WS(this.url);
      this._ws = ws;
      ws.onopen = () => this._emit('open', { url: this.url });
      ws.onmessage = (e) => this._onFrame(e.data);
      ws.onclose = (e) => this._onClose(ws, e.code, e.reason);
      ws.onerror = () => {};        // a close event follows
      return this;
    }

    /** Closes for good (no reconnect). Pending requests are rejected with code 'closed'. */
    close(code, reason) {
      this._closedByUser = true;
      clearTimeout(this._timer);
      if (this._ws && this._ws.readyState <= 1) this._ws.close(code || 1000, reason || '');
      this.state = 'closed';
      this._failPending('closed');
      this._outbox = [];
    }

    /**
     * Listens for a server frame type ('chat:message', 'presence:join', ... or '*' for all) or a
     * client event: 'open', 'welcome' (payload), 'close' ({code, reason, reconnectIn}),
     * 'joined' ({room, members}: every join ack, rejoins included), 'error' (error frames
     * without an id). Frame handlers get the whole frame {type, room?, from?, payload}.
     * @returns {Function} a function that removes the handler
     */
    on(type, fn) {
      if (!this._handlers.has(type)) this._handlers.set(type, new Set());
      this._handlers.get(type).add(fn);
      return () => this.off(type, fn);
    }

    /** Removes a handler added with on(); without fn, every handler of that type. */
    off(type, fn) {
      var set = this._handlers.get(type);
      if (!set) return this;
      if (fn) set.delete(fn); else set.clear();
      return this;
    }

    /**
     * Sends {type, ...fields} with a fresh id. Resolves with the ack payload, rejects with a
     * RealtimeError (.code) on an error frame, a timeout ('timeout') or a lost connection
     * ('disconnected').
     * @param {string} type
     * @param {object} [fields] room, to, payload, echo
     * @param {{timeout?: number}} [opts]
     * @returns {Promise<any>}
     */
    request(type, fields, opts) {
      var id = this._nextId++;
      var frame = Object.assign({}, fields || {}, { type: type, id: id });
      var timeout = (opts && opts.timeout) || this.opts.timeout;
      return new Promise((resolve, reject) => {
        var timer = setTimeout(() => {
          this._pending.delete(id);
          this._outbox = this._outbox.filter((f) => f !== frame);   // never sent: drop it
          reject(new RealtimeError('timeout', type + ': no answer within ' + timeout + ' ms'));
        }, timeout);
        // sent: false while the frame waits in the outbox; a dropped connection only fails
        // the requests that were really sent on it.
        this._pending.set(id, { resolve: resolve, reject: reject, timer: timer, sent: false });
        this._write(frame);
      });
    }

    /** Sends {type, ...fields} without asking for an answer. Returns false if it was dropped. */
    send(type, fields) {
      return this._write(Object.assign({}, fields || {}, { type: type }));
    }

    /**
     * Joins a room (meta: a small JSON object others see in presence). Remembered for rejoining.
     * @returns {Promise<{room: string, members: Array<{id, user, meta}>}>}
     */
    join(room, meta) {
      var fields = { room: room };
      if (meta !== undefined) fields.payload = meta;
      return this.request('room:join', fields).then((ack) => {
        this._rooms.set(room, meta);
        this._emit('joined', ack);
        return ack;
      });
    }

    /** Leaves a room (and forgets it for rejoining). */
    leave(room) {
      this._rooms.delete(room);
      return this.request('room:leave', { room: room });
    }

    /** The members of a room this connection is in: [{id, user, meta}, ...]. */
    presence(room) {
      return this.request('presence:list', { room: room }).then((ack) => ack.members);
    }

    /** The rooms this client has joined (and will rejoin after a reconnect). */
    get rooms() {
      return Array.from(this._rooms.keys());
    }

    _write(frame) {
      if (this.state === 'open' && this._ws && this._ws.readyState === 1) {
        this._ws.send(JSON.stringify(frame));
        var p = frame.id != null && this._pending.get(frame.id);
        if (p) p.sent = true;
        return true;
      }
      if (this.state === 'closed' || this._outbox.length >= this.opts.maxQueue) {
        if (frame.id) this._settle(frame.id, new RealtimeError('closed', 'client is closed'));
        return false;
      }
      this._outbox.push(frame);
      return true;
    }

    _onFrame(data) {
      var msg;
      try {
        msg = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'welcome') return this._onWelcome(msg.payload || {});
      if ((msg.type === 'ack' || msg.type === 'error') && msg.id != null && this._pending.has(msg.id)) {
        if (msg.type === 'ack') return this._settle(msg.id, null, msg.payload);
        var p = msg.payload || {};
        return this._settle(msg.id, new RealtimeError(p.code, p.message, msg));
      }
      if (msg.type === 'error') this._emit('error', new RealtimeError((msg.payload || {}).code, (msg.payload || {}).message, msg));
      this._emit(msg.type, msg);
      this._emit('*', msg);
    }

    _onWelcome(p) {
      this.id = p.id;
      this.node = p.node;
      this._attempt = 0;
      this.state = 'open';
      // Rejoin first (with the meta we had), then whatever was queued while disconnected.
      var rejoins = Array.from(this._rooms.entries());
      var queued = this._outbox;
      this._outbox = [];
      rejoins.forEach(([room, meta]) => {
        var fields = { room: room };
        if (meta !== undefined) fields.payload = meta;
        this.request('room:join', fields).then(
          (ack) => this._emit('joined', ack),
          (err) => this._emit('error', err));
      });
      queued.forEach((f) => this._write(f));
      this._emit('welcome', p);
    }

    _onClose(ws, code, reason) {
      if (ws !== this._ws) return;
      this._ws = null;
      this.id = null;
      this._failPending('disconnected', true);
      var delay = null;
      if (!this._closedByUser && this.opts.reconnect) {
        // Exponential backoff with "equal jitter": half fixed, half random.
        var base = Math.min(this.opts.maxDelay, this.opts.minDelay * Math.pow(2, this._attempt));
        delay = Math.round(base / 2 + Math.random() * base / 2);
        this._attempt++;
        this.state = 'reconnecting';
        this._timer = setTimeout(() => this.connect(), delay);
      } else {
        this.state = 'closed';
      }
      this._emit('close', { code: code, reason: reason, reconnectIn: delay });
    }

    _failPending(code, sentOnly) {
      this._pending.forEach((p, id) => {
        if (!sentOnly || p.sent) this._settle(id, new RealtimeError(code, 'connection ' + code));
      });
    }

    _settle(id, err, value) {
      var p = this._pending.get(id);
      if (!p) return;
      this._pending.delete(id);
      clearTimeout(p.timer);
      if (err) p.reject(err); else p.resolve(value);
    }

    _emit(type, arg) {
      var set = this._handlers.get(type);
      if (!set) return;
      Array.from(set).forEach((fn) => {
        try {
          fn(arg);
        } catch (e) {
          setTimeout(() => { throw e; });   // report, but keep the other handlers running
        }
      });
    }
  }

  Realtime.RealtimeError = RealtimeError;
  return Realtime;
});
