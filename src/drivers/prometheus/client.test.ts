import { describe, expect, it } from 'vitest';
import { connectionFor, DEFAULT_PROMETHEUS_URL, targetSchema } from './client.js';

describe('prometheus connection settings', () => {
  it('sends a bearer token, or basic auth, and keeps a path prefix', () => {
    const bearer = connectionFor(targetSchema.parse({ url: 'https://metrics.example/prometheus/', bearer: 't0ken' }), '/');
    expect(bearer.url).toBe('https://metrics.example/prometheus');
    expect(bearer.headers.authorization).toBe('Bearer t0ken');
    const basic = connectionFor(targetSchema.parse({ basic: { username: 'u', password: 'p' } }), '/');
    expect(basic.url).toBe(DEFAULT_PROMETHEUS_URL);
    expect(basic.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(connectionFor(undefined, '/', 'http://other:9090').url).toBe('http://other:9090');
  });

  it('refuses a TLS file it cannot read, naming it', () => {
    expect(() => connectionFor(targetSchema.parse({ tls: { ca: 'no-such-ca.pem' } }), '/tmp')).toThrow(/targets\.prometheus\.tls\.ca: cannot read no-such-ca\.pem/);
  });
});
