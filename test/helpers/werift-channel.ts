// Two werift peers connected through whatever ICE servers they were made with: candidates
// trickled to each other, one offer/answer, and a data channel open on both sides.
import { type RTCDataChannel, RTCPeerConnection } from 'werift';

/** Resolves once `channel` is open. */
export function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') resolve();
    });
  });
}

/** Connects `offerer` to `answerer` and opens a data channel; `local` is the offerer's end. */
export async function connectDataChannel(
  offerer: RTCPeerConnection,
  answerer: RTCPeerConnection,
  label = 'chat',
): Promise<{ local: RTCDataChannel; remote: RTCDataChannel }> {
  offerer.onIceCandidate.subscribe((candidate) => {
    if (candidate) void answerer.addIceCandidate(candidate);
  });
  answerer.onIceCandidate.subscribe((candidate) => {
    if (candidate) void offerer.addIceCandidate(candidate);
  });
  const remoteChannel = new Promise<RTCDataChannel>((resolve) => {
    answerer.onDataChannel.subscribe((channel) => resolve(channel));
  });
  const local = offerer.createDataChannel(label);
  await offerer.setLocalDescription(await offerer.createOffer());
  await answerer.setRemoteDescription(offerer.localDescription!);
  await answerer.setLocalDescription(await answerer.createAnswer());
  await offerer.setRemoteDescription(answerer.localDescription!);
  const remote = await remoteChannel;
  await Promise.all([opened(local), opened(remote)]);
  return { local, remote };
}

/** A peer that may only use relayed candidates, through the TURN server at 127.0.0.1:`turnPort`. */
export function relayOnlyPeer(
  turnPort: number,
  credential: { username: string; password: string },
): RTCPeerConnection {
  return new RTCPeerConnection({
    iceTransportPolicy: 'relay',
    iceServers: [
      { urls: `turn:127.0.0.1:${turnPort}`, username: credential.username, credential: credential.password },
    ],
  });
}
