// A long data-channel call between two relay-only RTCPeerConnections, run inside a Chromium page
// by stress/long-call.stress.ts. Apart from that file, so the browser's RTCPeerConnection is not
// rewritten into werift's import by the test transform.

import type { PagePeerConnectionClass } from '../../test/helpers/browser.js';

// In the page, the browser's global (the project compiles without the DOM library).
declare const RTCPeerConnection: PagePeerConnectionClass;

/** Runs in the page: two relay-only peers, one message a second echoed back, for `seconds`. */
export async function pageCall(args: {
  iceServers: { urls: string; username: string; credential: string }[];
  seconds: number;
}): Promise<{ sent: number; echoed: number; error?: string }> {
  const config = { iceServers: args.iceServers, iceTransportPolicy: 'relay' as const };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  let sent = 0;
  let echoed = 0;
  try {
    a.onicecandidate = (e) => {
      if (e.candidate) void b.addIceCandidate(e.candidate);
    };
    b.onicecandidate = (e) => {
      if (e.candidate) void a.addIceCandidate(e.candidate);
    };
    b.ondatachannel = (e) => {
      const channel = e.channel;
      channel.onmessage = (m) => channel.send(String(m.data));
    };
    const channel = a.createDataChannel('long-call');
    channel.onmessage = () => {
      echoed++;
    };
    const opened = new Promise<void>((resolve) => {
      channel.onopen = () => resolve();
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await opened;
    const started = Date.now();
    while (Date.now() - started < args.seconds * 1000) {
      if (channel.readyState !== 'open')
        throw new Error(`channel ${channel.readyState} after ${sent} messages`);
      channel.send(`ping ${sent++}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return { sent, echoed };
  } catch (error) {
    return { sent, echoed, error: String(error) };
  } finally {
    a.close();
    b.close();
  }
}
