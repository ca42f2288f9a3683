// The example page's script: a loopback call through icegate with the client kit. A real page
// sends its offer/answer and candidates through desknet's NEO's own signalling instead.
import { IcegateClient } from './icegate-client.js';

const params = new URLSearchParams(location.search);
const state = { phase: 'starting', received: [], renewals: [], errors: [], relayProtocol: null };
window.icegateExample = state;
const log = (line) => {
  document.getElementById('log').textContent += `${line}\n`;
};

function client() {
  return new IcegateClient({
    tokenEndpoint: params.get('token') ?? '/icegate/token',
    icegateUrl: params.get('icegate') ?? location.origin,
    ...(params.has('ttl') ? { ttl: Number(params.get('ttl')) } : {}),
    ...(params.has('renewBeforeMs') ? { renewBeforeMs: Number(params.get('renewBeforeMs')) } : {}),
    onRenewed: (info) => {
      state.renewals.push({ expiresAt: info.expiresAt.toISOString(), restarted: info.restarted });
      log(
        `credentials renewed until ${info.expiresAt.toISOString()}${info.restarted ? ' (ICE restart)' : ''}`,
      );
    },
    onError: (error) => {
      state.errors.push(error.code);
      log(`renewal failed: ${error.code}: ${error.message}`);
    },
  });
}

async function main() {
  const iceA = client();
  const iceB = client();
  const a = new RTCPeerConnection(await iceA.configuration({ iceTransportPolicy: 'relay' }));
  const b = new RTCPeerConnection(await iceB.configuration({ iceTransportPolicy: 'relay' }));
  iceA.keepFresh(a);
  iceB.keepFresh(b);
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ondatachannel = (e) => {
    e.channel.onmessage = (m) => state.received.push(String(m.data));
  };
  const channel = a.createDataChannel('chat');
  state.send = (text) => channel.send(text);
  channel.onopen = async () => {
    // The candidate pair in use: its local candidate is a relay (iceTransportPolicy 'relay').
    const stats = await a.getStats();
    let pairId = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId === null ? undefined : stats.get(pairId);
    const local = pair === undefined ? undefined : stats.get(pair.localCandidateId);
    state.relayProtocol = local?.candidateType === 'relay' ? local.relayProtocol : null;
    state.phase = 'open';
    log(`data channel open through the relay (${state.relayProtocol})`);
    channel.send('hello through icegate');
  };
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
}

main().catch((error) => {
  state.phase = 'failed';
  state.errors.push(error.code ?? String(error));
  log(`failed: ${error.code ?? ''} ${error.message}`);
});
