import { describe, expect, it } from 'vitest';
import { prepareUpstreamHeaders, stripResponseHopByHop, upstreamHeaderList } from '../../src/proxy/headers.js';

const facts = { requestId: 'rid', clientIp: '198.51.100.7', chain: [], proto: 'http' as const, host: 'example.test' };

/** A client's headers with every kind the proxy must not pass on, and one it must. */
function forgedRequest(): Record<string, string> {
  return {
    host: 'example.test',
    connection: 'close, X-Secret',
    'x-secret': 's',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'proxy-authorization': 'Basic abc',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil.test',
    forwarded: 'for=6.6.6.6',
    'x-request-id': 'forged',
    accept: '*/*',
  };
}

describe('upstream headers', () => {
  it('drops hop-by-hop headers, headers named in Connection and forged forwarding headers', () => {
    const headers = forgedRequest();
    prepareUpstreamHeaders(headers, facts);
    expect(headers).toEqual({
      host: 'example.test',
      accept: '*/*',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'example.test',
      'x-real-ip': '198.51.100.7',
      'x-request-id': 'rid',
    });
  });

  it('builds the same upstream headers as a flat list, leaving the request untouched', () => {
    const headers: Record<string, string | string[]> = {
      ...forgedRequest(),
      'x-repeated': ['a', 'b'],
      'transfer-encoding': 'chunked',
      expect: '100-continue',
    };
    const copy = structuredClone(headers);
    expect(upstreamHeaderList(headers, facts, 'upstream:8080')).toEqual([
      'host',
      'example.test',
      'accept',
      '*/*',
      'x-repeated',
      'a',
      'x-repeated',
      'b',
      'x-forwarded-for',
      '198.51.100.7',
      'x-forwarded-proto',
      'http',
      'x-forwarded-host',
      'example.test',
      'x-real-ip',
      '198.51.100.7',
      'x-request-id',
      'rid',
    ]);
    expect(headers).toEqual(copy);
  });

  it('lets a header set in another case replace the lower-case one', () => {
    const edited = { 'x-user': 'client', 'X-User': 'plugin', Connection: 'X-Private', 'x-private': '1', 'x-count': 3 as unknown as string };
    const list = upstreamHeaderList(edited, facts, 'upstream:8080');
    expect(list.slice(0, 2)).toEqual(['x-user', 'plugin']);
    expect(list.slice(2, 4)).toEqual(['x-count', '3']);
    expect(list.filter((value) => value.toLowerCase() === 'x-user')).toHaveLength(1);
    expect(list).not.toContain('x-private');
  });

  it('names the upstream as Host when the client sent none (HTTP/1.0)', () => {
    const list = upstreamHeaderList({ accept: '*/*' }, { ...facts, host: undefined }, 'upstream:8080');
    expect(list.slice(0, 4)).toEqual(['accept', '*/*', 'host', 'upstream:8080']);
    expect(list).not.toContain('x-forwarded-host');
  });

  it('keeps the upgrade handshake for WebSockets only when asked', () => {
    const headers: Record<string, string> = { connection: 'Upgrade', upgrade: 'websocket' };
    prepareUpstreamHeaders(headers, facts, true);
    expect(headers).toMatchObject({ connection: 'upgrade', upgrade: 'websocket' });
  });

  it('writes the verified chain of trusted proxies after the client', () => {
    const headers: Record<string, string> = {};
    prepareUpstreamHeaders(headers, { ...facts, chain: ['10.0.0.2', '10.0.0.1'] });
    expect(headers['x-forwarded-for']).toBe('198.51.100.7, 10.0.0.2, 10.0.0.1');
  });

  it('strips hop-by-hop headers from upstream responses', () => {
    const headers: Record<string, string | undefined> = {
      connection: 'x-internal',
      'x-internal': '1',
      'keep-alive': 'timeout=2',
      'content-type': 'text/plain',
    };
    stripResponseHopByHop(headers);
    expect(headers).toEqual({ connection: 'x-internal', 'content-type': 'text/plain' });
  });
});
