/* The chat example: one room at a time, names in the member's meta ({name}), messages as
 * chat:message events with echo:true so every participant sees the same order.
 * Everything a peer sends is rendered with textContent, never as HTML.
 * URL parameters ?name=…&room=… prefill the form; &join=1 joins at once.
 *
 * "Start video" joins the room's call (webrtc.js, RealtimeCall): camera and microphone when the
 * browser grants them, otherwise a call with data channels only (a note says so). Each peer in
 * the call gets a tile; the 'hello' data channel carries names between peers. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var rt = new Realtime((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/realtime');
  var current = null;           // room we are in
  var members = new Map();      // conn id -> {name}

  function setStatus(cls, text) {
    var s = $('status');
    s.className = 'status ' + cls;
    s.textContent = text;
  }

  function nameOf(id) {
    var m = members.get(id);
    return (m && m.name) || (id ? id.slice(0, 8) : 'server');
  }

  function renderMembers() {
    var ul = $('members');
    ul.textContent = '';
    members.forEach(function (meta, id) {
      var li = document.createElement('li');
      li.textContent = (meta && meta.name) || id;
      li.dataset.id = id;
      if (id === rt.id) li.className = 'me';
      ul.appendChild(li);
    });
    $('count').textContent = current ? '(' + members.size + ')' : '';
  }

  function addLine(kind, who, text) {
    var li = document.createElement('li');
    li.className = kind;
    if (who !== null) {
      var b = document.createElement('b');
      b.textContent = who;
      li.appendChild(b);
      li.appendChild(document.createTextNode(' '));
    }
    var span = document.createElement('span');
    span.textContent = text;
    li.appendChild(span);
    var ol = $('messages');
    ol.appendChild(li);
    ol.scrollTop = ol.scrollHeight;
  }

  function setMembers(list) {
    members.clear();
    list.forEach(function (m) { members.set(m.id, m.meta || {}); });
    renderMembers();
  }

  rt.on('open', function () { setStatus('connecting', 'connected, waiting for welcome…'); });
  rt.on('welcome', function (p) { setStatus('online', 'online as ' + p.id + ' (node ' + p.node + ')'); });
  rt.on('close', function (e) {
    setStatus('offline', e.reconnectIn != null
      ? 'offline (' + e.code + '), reconnecting in ' + Math.round(e.reconnectIn / 100) / 10 + ' s'
      : 'offline (' + e.code + ')');
  });
  // Every join ack, including the automatic rejoin after a reconnect, carries the member list.
  rt.on('joined', function (ack) { if (ack.room === current) setMembers(ack.members); });
  rt.on('presence:join', function (msg) {
    if (msg.room !== current) return;
    members.set(msg.payload.id, msg.payload.meta || {});
    renderMembers();
    addLine('info', null, nameOf(msg.payload.id) + ' joined');
  });
  rt.on('presence:leave', function (msg) {
    if (msg.room !== current) return;
    var who = nameOf(msg.payload.id);
    members.delete(msg.payload.id);
    renderMembers();
    addLine('info', null, who + ' left');
  });
  rt.on('chat:message', function (msg) {
    if (msg.room !== current) return;
    var text = msg.payload && typeof msg.payload.text === 'string' ? msg.payload.text : JSON.stringify(msg.payload);
    addLine(msg.from === rt.id ? 'mine' : 'theirs', nameOf(msg.from), text);
  });


  // ---- the video call (webrtc.js) ----
  var call = null;              // RealtimeCall while in a call
  var localStream = null;

  function tile(id, label) {
    var el = document.querySelector('#tiles .tile[data-id="' + CSS.escape(id) + '"]');
    if (el) return el;
    el = document.createElement('div');
    el.className = 'tile';
    el.dataset.id = id;
    var v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = label;
    var st = document.createElement('span');
    st.className = 'state';
    st.textContent = 'connecting…';
    el.appendChild(v);
    el.appendChild(who);
    el.appendChild(st);
    $('tiles').appendChild(el);
    return el;
  }

  function setTileState(id, text) {
    var el = document.querySelector('#tiles .tile[data-id="' + CSS.escape(id) + '"] .state');
    if (el) el.textContent = text;
  }

  function note(text) {
    $('call-note').hidden = !text;
    $('call-note').textContent = text || '';
  }

  // Camera and microphone if allowed; else microphone only; else nothing (data channels only).
  function getMedia() {
    var md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) return Promise.reject(new Error('this page cannot use media devices (not https?)'));
    return md.getUserMedia({ video: true, audio: true }).catch(function (err) {
      return md.getUserMedia({ audio: true }).then(function (s) {
        note('No camera (' + err.name + '): you are in the call with your microphone only.');
        return s;
      });
    });
  }

  function startVideo() {
    if (call || !current) return;
    var room = current;
    $('video').disabled = true;
    note('');
    getMedia().then(null, function (err) {
      note('No camera or microphone (' + (err.name || err.message) + '): you are in the call ' +
           'with a data channel only; you still see the others.');
      return null;
    }).then(function (stream) {
      if (room !== current) {                       // switched rooms meanwhile
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
        return;
      }
      localStream = stream;
      $('tiles').hidden = false;
      var me = tile(rt.id, nameOf(rt.id) + ' (you)');
      if (stream) {
        me.querySelector('video').muted = true;
        me.querySelector('video').srcObject = stream;
      }
      setTileState(rt.id, stream ? (stream.getVideoTracks().length ? '' : 'audio only') : 'no media');
      call = new RealtimeCall(rt, room, {
        media: stream,
        onPeer: function (id, pc) {
          tile(id, nameOf(id));
          pc.addEventListener('connectionstatechange', function () {
            setTileState(id, pc.connectionState === 'connected' ? '' : pc.connectionState);
          });
        },
        onTrack: function (id, track, streams) {
          var v = tile(id, nameOf(id)).querySelector('video');
          if (streams && streams[0]) v.srcObject = streams[0];
          else {
            if (!v.srcObject) v.srcObject = new MediaStream();
            v.srcObject.addTrack(track);
          }
        },
        onDataChannel: function (id, ch) {
          ch.addEventListener('open', function () {
            ch.send(JSON.stringify({ name: nameOf(rt.id), media: !!localStream }));
          });
          ch.addEventListener('message', function (e) {
            var m;
            try { m = JSON.parse(e.data); } catch (x) { return; }
            if (m && m.media === false) setTileState(id, 'no camera (data only)');
          });
        },
        onPeerLeft: function (id) {
          var el = document.querySelector('#tiles .tile[data-id="' + CSS.escape(id) + '"]');
          if (el) el.remove();
        },
      });
      window.chat.call = call;
      return call.join().then(function () {
        call.createDataChannel('hello');
        $('video').textContent = 'Stop video';
        $('video').disabled = false;
      });
    }).catch(function (err) {
      addLine('error', null, 'could not start the call: ' + (err.code || '') + ' ' + err.message);
      stopVideo();
    });
  }

  function stopVideo() {
    if (call) call.leave();
    call = null;
    window.chat.call = null;
    if (localStream) localStream.getTracks().forEach(function (t) { t.stop(); });
    localStream = null;
    $('tiles').textContent = '';
    $('tiles').hidden = true;
    $('video').textContent = 'Start video';
    $('video').disabled = !current;
  }

  $('video').addEventListener('click', function () {
    if (call) stopVideo(); else startVideo();
  });

  function join(name, room) {
    var before = current;
    if (before && before !== room) stopVideo();
    var leaving = before && before !== room ? rt.leave(before).catch(function () {}) : Promise.resolve();
    return leaving.then(function () {
      return rt.join(room, { name: name });
    }).then(function (ack) {
      current = room;
      setMembers(ack.members);
      $('room-title').textContent = 'Room ' + room;
      $('messages').textContent = '';
      addLine('info', null, 'you joined ' + room + ' as ' + name);
      $('text').disabled = false;
      $('send').disabled = false;
      $('video').disabled = false;
      $('text').focus();
    }, function (err) {
      addLine('error', null, 'could not join ' + room + ': ' + err.code + ' ' + err.message);
    });
  }

  $('join-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var name = $('name').value.trim();
    var room = $('room').value.trim();
    if (name && room) join(name, room);
  });

  $('send-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value;
    if (!text || !current) return;
    $('text').value = '';
    rt.request('chat:message', { room: current, echo: true, payload: { text: text } })
      .catch(function (err) { addLine('error', null, 'not sent (' + err.code + '): ' + text); });
  });

  var q = new URLSearchParams(location.search);
  if (q.get('name')) $('name').value = q.get('name');
  if (q.get('room')) $('room').value = q.get('room');
  if (q.get('join') && q.get('name')) join($('name').value, $('room').value);

  window.chat = { rt: rt, members: members, call: null };   // for debugging and the browser tests
})();
