// Which requests the fast path of POST /v1/ice-servers takes (the rest go to Express), and the
// helmet headers it sets, recorded from helmet itself.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CredentialFastPath, recordHelmetHeaders } from '../../../src/http/credential-fast-path.js';

function request(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  return { method, url, headers } as unknown as IncomingMessage;
}

const plain = { 'content-type': 'application/json', 'content-length': '2' };

describe('CredentialFastPath.accepts', () => {
  it('takes a plain JSON POST to exactly /v1/ice-servers, or one with no body', () => {
    expect(CredentialFastPath.accepts(request('POST', '/v1/ice-servers', plain))).toBe(true);
    expect(
      CredentialFastPath.accepts(
        request('POST', '/v1/ice-servers', { ...plain, 'content-type': 'application/json; charset=UTF-8' }),
      ),
    ).toBe(true);
    expect(CredentialFastPath.accepts(request('POST', '/v1/ice-servers', { 'content-length': '0' }))).toBe(
      true,
    );
  });

  it('leaves everything else to Express', () => {
    const no = (method: string, url: string, headers: Record<string, string>) =>
      expect(CredentialFastPath.accepts(request(method, url, headers))).toBe(false);
    no('GET', '/v1/ice-servers', plain);
    no('OPTIONS', '/v1/ice-servers', plain);
    no('POST', '/v1/ice-servers/', plain);
    no('POST', '/V1/ice-servers', plain);
    no('POST', '/v1/ice-servers?x=1', plain);
    no('POST', '/v1/turn-credentials', plain);
    no('POST', '/v1/ice-servers', { ...plain, origin: 'https://app.example.jp' });
    no('POST', '/v1/ice-servers', { ...plain, 'content-encoding': 'gzip' });
    no('POST', '/v1/ice-servers', { ...plain, 'transfer-encoding': 'chunked' });
    no('POST', '/v1/ice-servers', { 'content-type': 'application/json' });
    no('POST', '/v1/ice-servers', { ...plain, 'content-length': '16385' });
    no('POST', '/v1/ice-servers', { ...plain, 'content-length': '1e3' });
    no('POST', '/v1/ice-servers', { ...plain, 'content-type': 'application/json; charset=latin1' });
    no('POST', '/v1/ice-servers', { ...plain, 'content-type': 'text/plain' });
    no('POST', '/v1/ice-servers', { 'content-length': '2' });
  });
});

describe('recordHelmetHeaders', () => {
  it("records helmet's headers and its removal of X-Powered-By", () => {
    const steps = new Map(recordHelmetHeaders());
    expect(steps.get('Content-Security-Policy')).toContain("default-src 'self'");
    expect(steps.get('Strict-Transport-Security')).toBe('max-age=31536000; includeSubDomains');
    expect(steps.get('X-Content-Type-Options')).toBe('nosniff');
    expect(steps.has('X-Powered-By')).toBe(true);
    expect(steps.get('X-Powered-By')).toBeNull();
  });
});
