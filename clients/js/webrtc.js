/* webrtc.js: peer-to-peer calls (media and data channels) between the members of a room, on top of
 * a Realtime client (realtime.js) and rt-signaling (docs/signaling.md). No dependencies.
 *
 * Classic script:  <script src="realtime.js"></script><script src="webrtc.js"></script>  (window.RealtimeCall)
 * ES module:       import RealtimeCall from './webrtc.esm.js'  (a small wrapper around this file)
 * CommonJS:        const RealtimeCall = require('./webrtc.js')
 *
 *   const call = new RealtimeCall(rt, 'lobby', {
 *     media: stream,                                  // a MediaStream to send (optional)
 *     onPeer: (id, pc) => {},                         // a connection to a peer was created
 *     onTrack: (id, track, streams) => {},            // a remote track arrived
 *     onDataChannel: (id, channel) => {},             // a data channel (opened by either side)
 *     onPeerLeft: (id, reason) => {},                 // 'bye' | 'left' | 'closed' | 'failed'
 *   });
 *   await call.join();                                // -> {room, peers, iceServers, polite}
 *   call.createDataChannel('chat');                   // to every peer, now and later
 *   await call.leave();
 *
 * Only the webrtc:* protocol is used: webrtc:join to join the room and learn the peers, the ICE
 * servers and who is polite; webrtc:offer / answer / candidate / bye {room, to, payload} between
 * peers. presence:join / presence:leave (sent by the server anyway) keep the peer list current.
 *
 * Negotiation is the W3C "perfect negotiation" pattern: every change (tracks, channels) fires
 * negotiationneeded, which sends an offer made by setLocalDescription() without arguments; when
 * two offers cross, the impolite side ignores the other's offer and the polite side accepts it
 * (setRemoteDescription rolls its own offer back implicitly). Politeness comes from the server: the
 * newcomer from its webrtc:join ack, the members already there by asking webrtc:join again (it is
 * idempotent) when a newcomer appears.
 *
 * Who offers first: the newcomer, to every peer listed in its join ack. The members already there
 * create their side when the newcomer's offer arrives, so members of the room that are not in a
 * call (no RealtimeCall, or not joined yet) are never offered to by them.
 */
(function (root, factory) {
  var RealtimeCall = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = RealtimeCall;
  if (root) root.RealtimeCall = RealtimeCall;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  // An offer of ours that got no answer for this long is stale: the peer was not in the call yet
  // when it was sent (webrtc:join lists every member of the room, in a call or not), so nobody
  // will ever answer it. The peer's own offer then wins even when we are the impolite side — at
  // once when it arrives after that time, or when that time is up if it arrived before.
  // (A real glare is two offers crossing within one round trip, far below this.)
  //
  // Whenever our side yields before any answer was exchanged (polite in a first-offer glare, or
  // a stale offer), the peer's offer goes to a fresh RTCPeerConnection instead of a rollback:
  // the peer has seen nothing of the old one that it will use, and Chromium fails to answer
  // ("Failed to start SCTP transport") after rolling back a first offer that carried a data
  // channel. Later glares (renegotiation) use the standard implicit rollback.
  var STALE_OFFER_MS = 1500;

  function noop() {}

  /** One RTCPeerConnection to one peer, with the perfect-negotiation state. */
  class Peer {
    constructor(call, id, polite) {
      this.call = call;
      this.id = id;
      /** true / false once known; null while we wait for the server's answer. */
      this.polite = polite;
      this.makingOffer = false;
      this.ignoreOffer = false;
      this.offerSentAt = 0;
      this.closed = false;
      this.channels = new Map();      // label -> RTCDataChannel created here
      this._pendingCandidates = [];   // candidates that arrived before any remote description
      this._ignored = null;           // the peer's offer we ignored (impolite side of a collision)
      this._staleTimer = null;
      this._known = polite === true || polite === false ? Promise.resolve() : null;
      this._knownResolve = null;
      if (!this._known) this._known = new Promise((res) => { this._knownResolve = res; });

      var pc = new call._RTCPeerConnection({ iceServers: call.iceServers });
      this.pc = pc;
      pc.onnegotiationneeded = () => this._negotiate();
      pc.onicecandidate = (e) => this._signal('webrtc:candidate', e.candidate ? e.candidate.toJSON() : null);
      pc.ontrack = (e) => call._cb.onTrack(this.id, e.track, e.streams);
      pc.ondatachannel = (e) => call._cb.onDataChannel(this.id, e.channel);
      pc.oniceconnectionstatechange = () => {
        if (pc.iceConnectionState === 'failed' && pc.restartIce) pc.restartIce();
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'failed') call._drop(this.id, 'failed');
      };
    }

    setPolite(p) {
      this.polite = !!p;
      if (this._knownResolve) {
        this._knownResolve();
        this._knownResolve = null;
      }
    }

    /** Adds what the call sends: the media tracks and the data channels asked for so far. */
    addLocal() {
      var call = this.call;
      if (call.media) {
        var senders = this.pc.getSenders().map((s) => s.track);
        call.media.getTracks().forEach((t) => {
          if (senders.indexOf(t) < 0) this.pc.addTrack(t, call.media);
        });
      }
      call._labels.forEach((opts, label) => this.openChannel(label, opts));
    }

    openChannel(label, opts) {
      if (this.channels.has(label) || this.closed) return this.channels.get(label);
      var ch = this.pc.createDataChannel(label, opts || {});
      this.channels.set(label, ch);
      this.call._cb.onDataChannel(this.id, ch);
      return ch;
    }

    async _negotiate() {
      try {
        await this._known;      // our own offers wait until we know which side we are
        // Meanwhile an offer may have arrived: no offer of ours now (setLocalDescription() would
        // make an answer); negotiationneeded fires again once stable if still needed.
        if (this.closed || this.pc.signalingState !== 'stable') return;
        this.makingOffer = true;
        await this.pc.setLocalDescription();
        this.offerSentAt = Date.now();
        this._signal('webrtc:offer', this.pc.localDescription.toJSON());
        clearTimeout(this._staleTimer);
        this._staleTimer = setTimeout(() => {
          var ignored = this._ignored;
          if (ignored && !this.closed && this.pc.signalingState === 'have-local-offer' &&
              !this.pc.remoteDescription) {
            this.call._fresh(this.id).onDescription(ignored);
          }
        }, STALE_OFFER_MS);
      } catch (err) {
        this.call._cb.onError(err, this.id);
      } finally {
        this.makingOffer = false;
      }
    }

    /** An offer or answer from the peer ({type, sdp}). */
    async onDescription(desc) {
      var pc = this.pc;
      if (!desc || (desc.type !== 'offer' && desc.type !== 'answer') || typeof desc.sdp !== 'string') return;
      var collision = desc.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      var stale = collision && !this.makingOffer && pc.signalingState === 'have-local-offer' &&
        Date.now() - this.offerSentAt > STALE_OFFER_MS;
      // A collision before the first answer: the side that yields (polite, or holding a stale
      // offer) takes the peer's offer on a fresh connection instead of rolling back (see
      // STALE_OFFER_MS); the other side ignores the offer as usual.
      if (collision && !pc.remoteDescription && (this.polite || stale)) {
        return this.call._fresh(this.id).onDescription(desc);
      }
      this.ignoreOffer = !this.polite && collision && !stale;
      if (this.ignoreOffer) {
        this._ignored = desc;
        return;
      }
      if (desc.type === 'offer') this._ignored = null;
      try {
        if (desc.type === 'answer' && pc.signalingState !== 'have-local-offer') return;   // late duplicate
        await pc.setRemoteDescription(desc);     // rolls our own offer back if there was one
        if (desc.type === 'offer') {
          this.addLocal();                       // after the offer: reuses the offered transceivers
          await pc.setLocalDescription();
          this._signal('webrtc:answer', pc.localDescription.toJSON());
        }
        var queued = this._pendingCandidates;
        this._pendingCandidates = [];
        for (var i = 0; i < queued.length; i++) await this._addCandidate(queued[i], true);
      } catch (err) {
        this.call._cb.onError(err, this.id);
      }
    }

    /** A candidate (RTCIceCandidateInit) or null (end of candidates) from the peer. */
    async onCandidate(cand) {
      if (!this.pc.remoteDescription) {
        this._pendingCandidates.push(cand);
        return;
      }
      await this._addCandidate(cand, false);
    }

    /** queued: it arrived before any remote description, so it may belong to an offer of the
     * peer's that we ignored, or to a connection the peer abandoned: its failure is expected. */
    async _addCandidate(cand, queued) {
      try {
        await this.pc.addIceCandidate(cand || undefined);
      } catch (err) {
        if (!this.ignoreOffer && !queued) this.call._cb.onError(err, this.id);
      }
    }

    _signal(type, payload) {
      if (this.closed) return;
      this.call._send(type, this.id, payload);
    }

    close() {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this._staleTimer);
      if (this._knownResolve) this._knownResolve();
      this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
      this.pc.ondatachannel = this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
      try {
        this.pc.close();
      } catch (e) { /* already closed */ }
    }
  }

  /**
   * A call between the members of one room.
   * @param {Realtime} rt a connected (or connecting) Realtime client
   * @param {string} room the room; webrtc:join joins it
   * @param {object} [opts]
   * @param {MediaStream} [opts.media] what to send to every peer (setMedia() changes it later)
   * @param {object} [opts.meta] member meta for the room when webrtc:join is what joins it
   *   (as room:join's payload; ignored when already a member)
   * @param {Function} [opts.onPeer] (peerId, RTCPeerConnection): a connection was created
   * @param {Function} [opts.onPeerLeft] (peerId, reason): 'bye', 'left' (presence:leave), 'failed', 'closed'
   * @param {Function} [opts.onTrack] (peerId, MediaStreamTrack, streams)
   * @param {Function} [opts.onDataChannel] (peerId, RTCDataChannel): ours and the peer's
   * @param {Function} [opts.onError] (error, peerId): negotiation errors (default console.warn)
   * @param {Function} [opts.RTCPeerConnection] implementation (default: the global one)
   */
  class RealtimeCall {
    constructor(rt, room, opts) {
      opts = opts || {};
      this.rt = rt;
      this.room = room;
      this.media = opts.media || null;
      this._meta = opts.meta;         // webrtc:join's payload: member meta when it joins the room
      /** From the last webrtc:join ack. */
      this.iceServers = [];
      /** peer id -> Peer ({pc, polite, channels}) */
      this.peers = new Map();
      this.joined = false;
      this._labels = new Map();       // data channels opened to every peer: label -> options
      this._cb = {
        onPeer: opts.onPeer || noop,
        onPeerLeft: opts.onPeerLeft || noop,
        onTrack: opts.onTrack || noop,
        onDataChannel: opts.onDataChannel || noop,
        onError: opts.onError || function (err, id) { console.warn('RealtimeCall', id, err); },
      };
      this._RTCPeerConnection = opts.RTCPeerConnection ||
        (typeof RTCPeerConnection !== 'undefined' ? RTCPeerConnection : null);
      this._off = [];
      this._refresh = null;           // a webrtc:join in flight that asks for politeness
    }

    /**
     * Joins the room's call: webrtc:join, then a connection (and an offer) to every peer there.
     * Rejects with the RealtimeError of the server (e.g. code 'unavailable' when no rt-signaling runs).
     * @returns {Promise<{room, peers, iceServers, polite}>}
     */
    async join() {
      if (!this._off.length) this._listen();
      var fields = { room: this.room };
      if (this._meta !== undefined) fields.payload = this._meta;
      var ack = await this.rt.request('webrtc:join', fields);
      this.joined = true;
      this._applyAck(ack);
      (ack.peers || []).forEach((id) => {
        if (id === this.rt.id || this.peers.has(id)) return;
        var p = this._peer(id, ack.polite ? ack.polite[id] : null);
        p.addLocal();       // tracks/channels -> negotiationneeded -> our offer
        // With nothing to send there would be nothing to negotiate: once the caller's code after
        // `await join()` has run (createDataChannel, setMedia), open a 'realtime' channel if still empty.
        setTimeout(() => {
          if (!p.closed && !p.channels.size && !p.pc.getSenders().length) p.openChannel('realtime', {});
        }, 0);
      });
      return ack;
    }

    /**
     * Opens a data channel with this label to every peer, and to every peer that comes later.
     * Each one is also reported through onDataChannel. Returns the channels created now
     * (a Map peerId -> RTCDataChannel).
     */
    createDataChannel(label, opts) {
      this._labels.set(label, opts || {});
      var out = new Map();
      this.peers.forEach((p, id) => out.set(id, p.openChannel(label, opts)));
      return out;
    }

    /** Sends another MediaStream (or null for none) to every peer; renegotiates as needed. */
    setMedia(stream) {
      var old = this.media;
      this.media = stream || null;
      this.peers.forEach((p) => {
        p.pc.getSenders().forEach((s) => {
          if (s.track && old && old.getTracks().indexOf(s.track) >= 0 &&
              (!stream || stream.getTracks().indexOf(s.track) < 0)) p.pc.removeTrack(s);
        });
        p.addLocal();
      });
    }

    /** Says bye to every peer and closes every connection. The room itself is not left. */
    leave() {
      this.joined = false;
      this._off.forEach((off) => off());
      this._off = [];
      Array.from(this.peers.keys()).forEach((id) => {
        this._send('webrtc:bye', id, { reason: 'leave' });
        this._drop(id, 'closed');
      });
      return Promise.resolve();
    }

    _listen() {
      var on = (type, fn) => this._off.push(this.rt.on(type, (m) => {
        if (m.room === this.room && this.joined) fn(m);
      }));
      on('webrtc:offer', (m) => this._peerFor(m.from).onDescription(m.payload));
      on('webrtc:answer', (m) => {
        var p = this.peers.get(m.from);
        if (p) p.onDescription(m.payload);
      });
      on('webrtc:candidate', (m) => {
        var p = this.peers.get(m.from);
        if (p) p.onCandidate(m.payload);
      });
      on('webrtc:bye', (m) => this._drop(m.from, 'bye'));
      on('presence:join', (m) => {
        // A newcomer offers to us; learn our side for it now, before we ever offer to it.
        if (m.payload && m.payload.id !== this.rt.id) this._askPolite();
      });
      on('presence:leave', (m) => { if (m.payload) this._drop(m.payload.id, 'left'); });
      // A new connection (after a reconnect) has a new id: the old peers are gone for us.
      this._off.push(this.rt.on('welcome', () => {
        if (!this.joined) return;
        Array.from(this.peers.keys()).forEach((id) => this._drop(id, 'closed'));
        this.join().catch((err) => this._cb.onError(err, null));
      }));
    }

    /** The peer for an incoming offer: created (with our tracks and channels) when new. */
    _peerFor(id) {
      var p = this.peers.get(id);
      if (p) return p;
      p = this._peer(id, this._politeCache && id in this._politeCache ? this._politeCache[id] : null);
      if (p.polite === null) this._askPolite();
      return p;
    }

    /** A new connection to a peer in place of the old one (see STALE_OFFER_MS); onPeer again. */
    _fresh(id) {
      var old = this.peers.get(id);
      if (old) old.close();
      return this._peer(id, old ? old.polite : null);
    }

    _peer(id, polite) {
      var p = new Peer(this, id, polite === undefined ? null : polite);
      this.peers.set(id, p);
      this._cb.onPeer(id, p.pc);
      return p;
    }

    /** webrtc:join again (idempotent) for the current polite map and fresh ICE credentials. */
    _askPolite() {
      if (this._refresh) return this._refresh;
      this._refresh = this.rt.request('webrtc:join', { room: this.room })
        .then((ack) => this._applyAck(ack), (err) => this._cb.onError(err, null))
        .then(() => {
          this._refresh = null;
          // Anyone still unknown (not in the ack: left meanwhile) stays the polite side.
          this.peers.forEach((p) => { if (p.polite === null) p.setPolite(true); });
        });
      return this._refresh;
    }

    _applyAck(ack) {
      if (!ack) return;
      if (Array.isArray(ack.iceServers)) {
        this.iceServers = ack.iceServers;
        this.peers.forEach((p) => {
          try {
            p.pc.setConfiguration(Object.assign(p.pc.getConfiguration(), { iceServers: ack.iceServers }));
          } catch (e) { /* some fields cannot change after creation: keep the old ones */ }
        });
      }
      this._politeCache = ack.polite || {};
      this.peers.forEach((p, id) => {
        if (id in this._politeCache) p.setPolite(this._politeCache[id]);
      });
    }

    _drop(id, reason) {
      var p = this.peers.get(id);
      if (!p) return;
      this.peers.delete(id);
      p.close();
      this._cb.onPeerLeft(id, reason);
    }

    _send(type, to, payload) {
      this.rt.request(type, { room: this.room, to: to, payload: payload })
        .catch((err) => {
          // The peer is gone: forget it (presence:leave usually says so first).
          if (err.code === 'peer_not_found') this._drop(to, 'left');
          else if (type !== 'webrtc:bye') this._cb.onError(err, to);
        });
    }
  }

  RealtimeCall.Peer = Peer;
  return RealtimeCall;
});
