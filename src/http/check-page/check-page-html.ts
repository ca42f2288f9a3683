// The connectivity-check page (issue 5): static HTML, no inline script or style, so it runs under a
// strict Content-Security-Policy; check-page-script.ts does the work in the browser.

/** The HTML of /check. */
export const CHECK_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>icegate connectivity check</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/check/check.css">
<script src="/check/check.js" defer></script>
</head>
<body>
<main>
  <header>
    <h1>Connectivity check</h1>
    <p class="lead">Tests whether browsers on this network can reach the icegate relay for web conferences,
    over each way this server offers: UDP, TCP and, where its operator configured it, TLS. Run it from a
    computer inside the network you want to check.</p>
  </header>

  <form id="check-form" autocomplete="off">
    <label for="token">Tenant token</label>
    <textarea id="token" name="token" rows="3" spellcheck="false"
      placeholder="Paste the token your desknet's NEO administrator gave you, or open this page with a check link"></textarea>
    <p class="hint">The token stays in this browser: it is sent only to this server's credential endpoint, and a
    link's <code>#token=</code> part never reaches any server log.</p>
    <label class="option"><input type="checkbox" id="rtt" name="rtt"> Also measure the round trip through
    the relay</label>
    <p class="hint">The round trip needs a server that relays between its own addresses (a test or staging
    setup); a production relay refuses that, and the column then says so. A link ending in
    <code>?rtt=1</code> ticks this box.</p>
    <button id="run" type="submit">Run the check</button>
  </form>

  <section id="report" hidden>
    <p id="status" role="status" aria-live="polite"></p>
    <table id="results">
      <thead>
        <tr><th scope="col">Transport</th><th scope="col">Result</th><th scope="col">Time to allocate</th>
        <th scope="col" class="rtt">Round trip via relay</th><th scope="col">Server</th></tr>
      </thead>
      <tbody></tbody>
    </table>
    <div id="advice"></div>
    <p class="footnote">Time to allocate: from the start of the check until the relay granted an address (the
    browser's own setup, two round trips to the server, and the TCP and TLS handshakes where they apply).
    <span class="rtt">Round trip via relay: a message sent through the relay and back, median of five.</span></p>
  </section>
</main>
</body>
</html>
`;
