/* The chat example: one room at a time, names in the member's meta ({name}), messages as
 * chat:message events with echo:true so every participant sees the same order.
 * Everything a peer sends is rendered with textContent, never as HTML.
 * URL parameters ?name=…&room=… prefill the form; &join=1 joins at once. */
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

  function join(name, room) {
    var before = current;
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

  window.chat = { rt: rt, members: members };   // for debugging and the browser test
})();
