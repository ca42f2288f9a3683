// The browser side of /check, served as /check/check.js (the page's CSP allows scripts from its own
// origin only). Plain ES2019 with no framework. Per TURN URL of POST /v1/ice-servers it opens a
// relay-only RTCPeerConnection restricted to that URL: a relay candidate means the transport works
// from this network; a second peer connection on the same URL then measures a data-channel round
// trip through the relay when the server relays between its own addresses.
// Kept free of backquotes and dollar-brace so it can live in this template literal.

/** The script of /check. */
export const CHECK_PAGE_SCRIPT = `'use strict';
(function () {
  var ALLOCATE_TIMEOUT_MS = 10000;
  var ROUND_TRIP_TIMEOUT_MS = 6000;
  var PINGS = 5;
  var NAMES = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

  var form = document.getElementById('check-form');
  var tokenField = document.getElementById('token');
  var runButton = document.getElementById('run');
  var report = document.getElementById('report');
  var statusLine = document.getElementById('status');
  var tbody = document.querySelector('#results tbody');
  var advice = document.getElementById('advice');

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  function transportOf(url) {
    if (/^turns:/i.test(url)) return 'tls';
    return /[?&]transport=tcp/i.test(url) ? 'tcp' : 'udp';
  }

  function serverOf(url) {
    var rest = url.replace(/^turns?:/i, '').split('?')[0];
    var m = /^\\[(.+)\\]:(\\d+)$/.exec(rest) || /^([^:]+):(\\d+)$/.exec(rest);
    if (m) return { host: m[1], port: Number(m[2]) };
    return { host: rest.replace(/^\\[|\\]$/g, ''), port: transportOf(url) === 'tls' ? 5349 : 3478 };
  }

  function hostPort(url) {
    var s = serverOf(url);
    return (s.host.indexOf(':') >= 0 ? '[' + s.host + ']' : s.host) + ':' + s.port;
  }

  function ms(value) { return value === null ? '\\u2014' : Math.round(value) + ' ms'; }

  function median(values) {
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    return sorted[Math.floor(sorted.length / 2)];
  }

  function fetchConfig() {
    return fetch('/check/config.json', { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; });
  }

  function fetchIceServers(token) {
    return fetch('/v1/ice-servers', {
      method: 'POST',
      cache: 'no-store',
      headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: '{}'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.message || ('the server answered ' + response.status));
          error.code = body.error || String(response.status);
          throw error;
        }
        return body;
      });
    });
  }

  /** Gathers a relay candidate over one URL; then, if asked, a data-channel round trip through it. */
  function probe(server, url, measureRoundTrip) {
    var result = { url: url, transport: transportOf(url), ok: false, allocationMs: null, rttMs: null,
      relay: null, error: null, rttNote: null };
    var config = { iceServers: [{ urls: [url], username: server.username, credential: server.credential }],
      iceTransportPolicy: 'relay' };
    var a = new RTCPeerConnection(config);
    var b = measureRoundTrip ? new RTCPeerConnection(config) : null;
    var started = performance.now();
    var finished = false;
    var lastError = null;
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        if (!result.ok) result.error = lastError || 'no answer within ' + (ALLOCATE_TIMEOUT_MS / 1000) + ' s';
        else if (result.rttMs === null) result.rttNote = 'not measured';
        finish();
      }, ALLOCATE_TIMEOUT_MS);
      function finish() {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        a.close();
        if (b) b.close();
        resolve(result);
      }
      a.onicecandidateerror = function (e) {
        lastError = (e.errorCode ? e.errorCode + ' ' : '') + (e.errorText || 'TURN error');
      };
      a.onicecandidate = function (e) {
        if (!e.candidate) {
          if (!result.ok) { result.error = lastError || 'no relay candidate'; finish(); }
          return;
        }
        if (b) b.addIceCandidate(e.candidate).catch(function () {});
        if (e.candidate.type !== 'relay' || result.ok) return;
        result.ok = true;
        result.allocationMs = performance.now() - started;
        result.relay = e.candidate.address ? e.candidate.address + ':' + e.candidate.port : null;
        if (!b) { finish(); return; }
        clearTimeout(timer);
        timer = setTimeout(function () { result.rttNote = 'no path through the relay'; finish(); },
          ROUND_TRIP_TIMEOUT_MS);
      };
      if (b) {
        b.onicecandidate = function (e) { if (e.candidate) a.addIceCandidate(e.candidate).catch(function () {}); };
        b.ondatachannel = function (e) {
          e.channel.onmessage = function (m) { e.channel.send(m.data); };
        };
      }
      var channel = a.createDataChannel('icegate-check');
      var rtts = [];
      var sentAt = 0;
      channel.onopen = function () { sentAt = performance.now(); channel.send('0'); };
      channel.onmessage = function (m) {
        rtts.push(performance.now() - sentAt);
        var next = Number(m.data) + 1;
        if (next >= PINGS) { result.rttMs = median(rtts); finish(); return; }
        sentAt = performance.now();
        channel.send(String(next));
      };
      a.createOffer()
        .then(function (offer) { return a.setLocalDescription(offer); })
        .then(function () {
          if (!b) return null;
          return b.setRemoteDescription(a.localDescription)
            .then(function () { return b.createAnswer(); })
            .then(function (answer) { return b.setLocalDescription(answer); })
            .then(function () { return a.setRemoteDescription(b.localDescription); });
        })
        .catch(function (error) { result.error = String(error); finish(); });
    });
  }

  function row(result) {
    var status = result.ok ? 'ok' : (result.error === null ? 'pending' : 'failed');
    var label = status === 'ok' ? 'Works' : (status === 'failed' ? 'Blocked' : 'Checking\\u2026');
    var resultCell = el('td', {}, [el('span', { 'class': 'badge' }, [label])]);
    if (status === 'failed') resultCell.append(el('span', { 'class': 'detail' }, [result.error]));
    if (status === 'ok' && result.relay) resultCell.append(el('span', { 'class': 'detail relay' }, ['relay ' + result.relay]));
    var rtt = result.rttMs !== null ? ms(result.rttMs) : (result.rttNote || (status === 'ok' ? '\\u2026' : '\\u2014'));
    return el('tr', { 'data-transport': result.transport, 'data-status': status }, [
      el('th', { scope: 'row' }, [NAMES[result.transport]]),
      resultCell,
      el('td', { 'class': 'allocation' }, [ms(result.allocationMs)]),
      el('td', { 'class': 'rtt' }, [rtt]),
      el('td', { 'class': 'server', title: result.url }, [hostPort(result.url)])
    ]);
  }

  function render(results) {
    tbody.replaceChildren.apply(tbody, results.map(row));
  }

  function listItem(text) { return el('li', {}, [text]); }

  function showAdvice(results, config) {
    var working = results.filter(function (r) { return r.ok; });
    var udp = results.filter(function (r) { return r.transport === 'udp'; });
    var range = config.relayPorts ? 'UDP ports ' + config.relayPorts.min + '\\u2013' + config.relayPorts.max
      : 'the UDP relay port range';
    var rules = results.map(function (r) {
      var s = serverOf(r.url);
      if (r.transport === 'udp') return 'UDP ' + s.port + ' to ' + s.host + ' (TURN), and ' + range + ' to ' + s.host + ' (relayed media)';
      if (r.transport === 'tcp') return 'TCP ' + s.port + ' to ' + s.host + ' (TURN over TCP)';
      return 'TCP ' + s.port + ' to ' + s.host + ' (TURN over TLS; it looks like HTTPS to most firewalls)';
    });
    advice.replaceChildren();
    if (working.length === results.length) {
      advice.className = 'ok';
      advice.append(el('p', {}, ['Every transport works from this network. Browsers will use UDP, which gives the best call quality.']));
    } else if (working.length > 0) {
      advice.className = '';
      var names = working.map(function (r) { return NAMES[r.transport]; }).join(' and ');
      advice.append(el('p', {}, ['Calls will work from this network, relayed over ' + names + '.']));
      if (udp.length > 0 && !udp[0].ok) {
        advice.append(el('p', {}, ['UDP is blocked. Media over TCP suffers more from packet loss; for the best quality, allow outgoing:']));
        advice.append(el('ul', {}, [listItem(rules[results.indexOf(udp[0])])]));
      }
    } else {
      advice.className = 'bad';
      advice.append(el('p', {}, ['No transport works from this network: browsers here cannot join calls through the relay. Allow outgoing connections from this network to at least one of:']));
      advice.append(el('ul', {}, rules.map(listItem)));
      // Advise only what this server offers (issue 16): no TLS advice when it has no TLS listener.
      var offers = function (t) { return results.some(function (r) { return r.transport === t; }); };
      if (offers('tls')) {
        advice.append(el('p', {}, ['Opening TLS alone is enough for browsers to join calls; served on port 443 it passes most firewalls that allow only web traffic. A proxy that inspects TLS must let these connections through unchanged.']));
      } else if (offers('tcp')) {
        advice.append(el('p', {}, ['Opening TCP alone is enough for browsers to join calls. This server offers no TURN over TLS, which networks that allow only web traffic need; its operator can add it.']));
      } else {
        advice.append(el('p', {}, ['This server offers only UDP; networks that block UDP need TURN over TCP or TLS, which its operator can add.']));
      }
    }
  }

  function run(token) {
    runButton.disabled = true;
    report.hidden = false;
    advice.replaceChildren();
    advice.className = '';
    statusLine.textContent = 'Asking the server for relay credentials\\u2026';
    render([]);
    Promise.all([fetchIceServers(token), fetchConfig()])
      .then(function (answers) {
        var body = answers[0];
        var config = answers[1];
        // Without a round trip to measure, its column goes (CSS hides .rtt under .no-rtt).
        report.classList.toggle('no-rtt', config.measureRoundTrip !== true);
        var server = (body.iceServers || []).filter(function (s) { return s.username; })[0];
        if (!server) throw new Error('the server offered no relay');
        var urls = [].concat(server.urls);
        var results = urls.map(function (url) {
          return { url: url, transport: transportOf(url), ok: false, allocationMs: null, rttMs: null, relay: null,
            error: null, rttNote: null };
        });
        render(results);
        statusLine.textContent = 'Checking ' + urls.length + ' transports\\u2026';
        return Promise.all(urls.map(function (url, i) {
          return probe(server, url, config.measureRoundTrip === true).then(function (result) {
            results[i] = result;
            render(results);
          });
        })).then(function () {
          var ok = results.filter(function (r) { return r.ok; }).length;
          statusLine.textContent = 'Done: ' + ok + ' of ' + results.length + ' transports work from this network.';
          showAdvice(results, config);
        });
      })
      .catch(function (error) {
        statusLine.textContent = 'The check could not start: ' + (error.code ? error.code + ': ' : '') + error.message;
      })
      .then(function () {
        report.setAttribute('data-state', 'done');
        runButton.disabled = false;
      });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var token = tokenField.value.trim();
    if (token) run(token);
  });

  // A check link carries the token in the fragment, which browsers never send to a server; it is
  // removed from the address bar at once so it does not linger in history or screenshots.
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search);
    run(decodeURIComponent(match[1]));
  }
})();
`;
