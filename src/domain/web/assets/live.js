// buildstatus live pages: follows the status events on `events` and fetches the page again
// when something happened, replacing its content in place. Bursts of events cost one fetch,
// at most one a second. The stream resumes where it stopped after a lost connection: the
// browser sends the last event number it saw, and the server sends what came after it.
// Without scripting, the `reload=` argument still refreshes the whole page.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var root = script.getAttribute('data-root') || './';
  var after = Number(script.getAttribute('data-after') || '0');
  var MIN_GAP_MS = 1000;
  // What tests (and the curious) can read: where the stream is, and what it delivered.
  var live = window.buildstatusLive = { connected: false, lastEventId: after, seqs: [], summarised: 0, refreshes: 0, opens: 0 };
  var wanted = false, timer = null, busy = false, lastFetch = 0;

  function schedule() {
    wanted = true;
    if (timer || busy) { return; }
    timer = setTimeout(refresh, Math.max(0, lastFetch + MIN_GAP_MS - Date.now()));
  }

  // A form the visitor is filling in (a field or button of it has the focus) is not replaced
  // under their hands: the refresh waits until they leave it.
  function filling() {
    var active = document.activeElement;
    var content = document.querySelector('div.content');
    return !!(active && active.form && content && content.contains(active));
  }

  function refresh() {
    timer = null;
    if (filling()) { timer = setTimeout(refresh, MIN_GAP_MS); return; }
    wanted = false;
    busy = true;
    lastFetch = Date.now();
    fetch(window.location.href, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('div.content');
        var current = document.querySelector('div.content');
        if (fresh && current) {
          current.replaceWith(fresh);
          live.refreshes += 1;
        }
      })
      .catch(function () { wanted = true; })
      .then(function () { busy = false; if (wanted) { schedule(); } });
  }

  function connect() {
    var source = new EventSource(root + 'events?after=' + live.lastEventId);
    source.onopen = function () { live.connected = true; live.opens += 1; };
    source.addEventListener('status', function (message) {
      var events = JSON.parse(message.data);
      for (var i = 0; i < events.length; i++) {
        if (events[i].seq > live.lastEventId) { live.seqs.push(events[i].seq); }
      }
      live.lastEventId = Math.max(live.lastEventId, Number(message.lastEventId));
      schedule();
    });
    // Many events at once (the page was far behind, or the master is very busy): the range
    // they cover and the builders they touched, rather than each; the page refreshes once.
    source.addEventListener('summary', function (message) {
      var summary = JSON.parse(message.data);
      live.summarised += summary.count;
      live.lastEventId = Math.max(live.lastEventId, Number(message.lastEventId));
      schedule();
    });
    source.onerror = function () {
      live.connected = false;
      // The browser retries by itself unless the server answered with an error; then we do.
      if (source.readyState === EventSource.CLOSED) { setTimeout(connect, 2000); }
    };
  }
  connect();
})();
