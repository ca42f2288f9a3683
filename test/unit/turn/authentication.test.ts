// Long-term credentials on the TURN core (RFC 8489 section 9.2.4) with TURN REST usernames.
import { describe, expect, it } from 'vitest';
import { NonceFactory } from '../../../src/auth/index.js';
import {
  Attr,
  getAttribute,
  MessageBuilder,
  Method,
  Protocol,
  readText,
  StunClass,
} from '../../../src/stun/index.js';
import { CoreClient, makeCore, type Response } from './harness.js';

function text(response: Response, type: number): string | null {
  const attr = getAttribute(response.message, type);
  return attr ? readText(attr.value) : null;
}

describe('authentication', () => {
  it('challenges a request without MESSAGE-INTEGRITY with 401, REALM and NONCE, unsigned and not cached', () => {
    const core = makeCore();
    const client = core.client();
    const response = client.challenge();
    expect(response.code).toBe(401);
    expect(text(response, Attr.REALM)).toBe('icegate');
    expect(text(response, Attr.NONCE)).toMatch(/^[A-Za-z0-9_-]{31}$/);
    expect(response.message.integrityOffset).toBe(-1);
    // No SOFTWARE on unauthenticated errors (issue 7: the answer a spoofed request draws stays small).
    expect(text(response, Attr.SOFTWARE)).toBeNull();
    // Stateless: a retransmission is answered again with a newly computed challenge, nothing cached.
    const again = client.send(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP), { sign: false });
    expect(again.code).toBe(401);
    expect(core.sink.binds).toHaveLength(0);
  });

  it('answers 400 to MESSAGE-INTEGRITY without NONCE', () => {
    const core = makeCore();
    const client = core.client();
    const request = new MessageBuilder(StunClass.Request, Method.Allocate, Buffer.alloc(12, 1))
      .addRequestedTransport(Protocol.UDP)
      .addText(Attr.USERNAME, client.username)
      .addText(Attr.REALM, 'icegate')
      .build({ integrityKey: client.key });
    client.feed(request);
    const response = client.responseTo(Buffer.alloc(12, 1));
    expect(response?.code).toBe(400);
    expect(core.events.authFailed).toContain('missing-attributes');
  });

  it('answers 401 to a USERNAME that is not a REST username', () => {
    const core = makeCore();
    const client = core.client();
    client.challenge();
    const response = client.send(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP), {
      username: 'alice',
    });
    expect(response.code).toBe(401);
    expect(response.message.integrityOffset).toBe(-1);
    expect(core.events.authFailed).toContain('bad-username');
  });

  it('answers 401 to an expired REST username', () => {
    const core = makeCore();
    const client = core.client('acme', { ttlSeconds: 60 });
    client.challenge();
    core.advance(61_000);
    client.challenge();
    const response = client.allocate();
    expect(response.code).toBe(401);
    expect(core.events.authFailed).toContain('expired-username');
    expect(core.sink.binds).toHaveLength(0);
  });

  it('answers 401 to a wrong password (MESSAGE-INTEGRITY fails under every secret)', () => {
    const core = makeCore();
    const client = core.client('acme', { secret: 'not-our-secret' });
    const response = client.allocate();
    expect(response.code).toBe(401);
    expect(response.message.integrityOffset).toBe(-1);
    expect(core.events.authFailed).toContain('bad-integrity');
  });

  it('accepts credentials of every secret in the ring (rotation) and refuses removed ones', () => {
    const rotated = makeCore({ secrets: ['new-secret', 'old-secret'] });
    const oldClient = rotated.client('acme', { secret: 'old-secret' });
    expect(oldClient.allocate().code).toBe(200);
    const newClient = rotated.client('acme');
    expect(newClient.allocate().code).toBe(200);

    const retired = makeCore({ secrets: ['new-secret'] });
    expect(retired.client('acme', { secret: 'old-secret' }).allocate().code).toBe(401);
  });

  it('answers 438 with a fresh NONCE and MESSAGE-INTEGRITY once a nonce is 10 minutes old', () => {
    const core = makeCore();
    const client = core.client();
    expect(client.allocate().code).toBe(200);
    const firstNonce = client.nonce;
    core.advance(9 * 60_000);
    expect(client.refresh().code).toBe(200);
    core.advance(60_001 + 1);
    const stale = client.refresh();
    expect(stale.code).toBe(438);
    const fresh = text(stale, Attr.NONCE);
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(firstNonce);
    expect(text(stale, Attr.REALM)).toBe('icegate');
    expect(client.verifies(stale)).toBe(true);
    expect(core.events.authFailed).toContain('stale-nonce');
    client.learn(stale);
    expect(client.refresh().code).toBe(200);
  });

  it('answers 438 (signed) to a nonce minted by another process', () => {
    const core = makeCore();
    const client = core.client();
    expect(client.allocate().code).toBe(200);
    client.nonce = new NonceFactory(Buffer.alloc(32, 9)).issue(client.tuple.clientKey, core.clock.now);
    const response = client.refresh();
    expect(response.code).toBe(438);
    expect(client.verifies(response)).toBe(true);
    expect(core.events.authFailed).toContain('invalid-nonce');
  });

  it('answers 441 when a request on an allocation uses another username', () => {
    const core = makeCore();
    const client = core.client('acme');
    expect(client.allocate().code).toBe(200);
    const credential = core.client('globex');
    // The same 5-tuple, valid credentials of another user.
    const intruder = new CoreClient(core, client.tuple, credential.username, credential.password);
    intruder.nonce = client.nonce;
    const response = intruder.refresh();
    expect(response.code).toBe(441);
    expect(intruder.verifies(response)).toBe(true);
    expect(core.events.authFailed).toContain('wrong-credentials');
    expect(core.server.allocationCount).toBe(1);
  });

  it('signs success and error responses of authenticated requests, and mirrors FINGERPRINT', () => {
    const core = makeCore();
    const client = core.client();
    const ok = client.allocate(() => {}, { fingerprint: true });
    expect(ok.code).toBe(200);
    expect(client.verifies(ok)).toBe(true);
    expect(ok.message.attributes.at(-1)?.type).toBe(Attr.FINGERPRINT);
    const mismatch = client.allocate();
    expect(mismatch.code).toBe(437);
    expect(client.verifies(mismatch)).toBe(true);
    expect(mismatch.message.attributes.at(-1)?.type).toBe(Attr.MESSAGE_INTEGRITY);
  });
});
