// The cases of the acceptance suite: each mechanism (timeouts; failover by refused connection and by
// black hole; retries under resets) in a good and a broken configuration of nginx, HAProxy and Caddy,
// and decoys whose fault never tests the mechanism. Good must pass, broken must fail, decoys must not pass.
import type { CaseSpec, Expected, Front } from './harness.js';

const nginx = (config: Extract<Front, { kind: 'nginx' }>['config']): Front => ({ kind: 'nginx', config });
const haproxy = (config: Extract<Front, { kind: 'haproxy' }>['config']): Front => ({ kind: 'haproxy', config });
const caddy = (config: Extract<Front, { kind: 'caddy' }>['config']): Front => ({ kind: 'caddy', config });

// nginx without next upstream and without passive health marking: a dead server keeps getting its share.
const NGINX_NO_FAILOVER = nginx({ readTimeout: '1s', nextUpstream: 'off', noPassiveChecks: true });
const NGINX_FAILOVER = nginx({ readTimeout: '1s', nextUpstream: 'error timeout' });
// Retries alone, as the HAProxy and Caddy retry cases have them: without passive marking, so one slow
// answer in the baseline of a busy machine cannot take a out of rotation before the fault (a's reset
// then reached no request, and the verdict said not-exercised, truthfully, in a CI run).
const NGINX_RETRIES = nginx({ readTimeout: '1s', nextUpstream: 'error timeout', noPassiveChecks: true });
const HAPROXY_RETRIES = haproxy({ timeoutServer: '1s', retries: 3, redispatch: true });
const HAPROXY_NO_RETRIES = haproxy({ timeoutServer: '1s', retries: 0 });

// Caddy: round robin, so a retry goes to the other upstream (random may pick the failed one again).
// Broken: no lb_retries/lb_try_duration and no fail_duration, so a dead upstream keeps getting its share.
const CADDY_FAILOVER = caddy({ responseHeaderTimeout: '1s', lbPolicy: 'round_robin', lbRetries: 2, failDuration: '10s' });
const CADDY_RETRIES = caddy({ responseHeaderTimeout: '1s', lbPolicy: 'round_robin', lbTryDuration: '2s' });
const CADDY_NO_RETRIES = caddy({ responseHeaderTimeout: '1s', lbPolicy: 'round_robin' });

const TIMEOUT_BOUND = { timeouts: { latency: { p99: '1500ms' } } };
const FAILOVER_BOUND = { failover: { successRate: '90%', longestGap: '2s' } };
const RETRIES_BOUND = { retries: { errorRate: '10%' } };

export interface AcceptanceCase {
  spec: CaseSpec;
  expected: Expected;
}

const latency3s = (proxy: 'a' | 'decoy') => (bench: Parameters<CaseSpec['fault']>[0]) => ({ action: 'latency', with: { proxy: bench.proxies[proxy].name, latency: '3s' } });
const downA = (bench: Parameters<CaseSpec['fault']>[0]) => ({ action: 'down', with: { proxy: bench.proxies.a.name } });
const blackHoleA = (bench: Parameters<CaseSpec['fault']>[0]) => ({ action: 'timeout', with: { proxy: bench.proxies.a.name, timeout: '0s' } });
const resetA = (bench: Parameters<CaseSpec['fault']>[0]) => ({ action: 'reset-peer', with: { proxy: bench.proxies.a.name } });

export const nginxCases: AcceptanceCase[] = [
  { expected: 'pass', spec: { title: 'nginx timeouts: proxy_read_timeout 1s under a 3 s delay', front: nginx({ readTimeout: '1s' }), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'fail', spec: { title: 'nginx timeouts: no read timeout under a 3 s delay', front: nginx({}), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'pass', spec: { title: 'nginx failover by refusal: proxy_next_upstream error, a down', front: NGINX_FAILOVER, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'nginx failover by refusal: proxy_next_upstream off, a down', front: NGINX_NO_FAILOVER, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'nginx failover by black hole: proxy_next_upstream timeout, a black-holed', front: NGINX_FAILOVER, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'nginx failover by black hole: proxy_next_upstream off, a black-holed', front: NGINX_NO_FAILOVER, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'nginx retries: proxy_next_upstream error, a resets every connection', front: NGINX_RETRIES, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
  { expected: 'fail', spec: { title: 'nginx retries: proxy_next_upstream off, a resets every connection', front: NGINX_NO_FAILOVER, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
];

export const haproxyCases: AcceptanceCase[] = [
  { expected: 'pass', spec: { title: 'HAProxy timeouts: timeout server 1s under a 3 s delay', front: haproxy({ timeoutServer: '1s', retries: 0 }), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'fail', spec: { title: 'HAProxy timeouts: timeout server 30s under a 3 s delay', front: haproxy({ timeoutServer: '30s', retries: 0 }), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'pass', spec: { title: 'HAProxy failover by refusal: redispatch and retries 3, a down', front: HAPROXY_RETRIES, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'HAProxy failover by refusal: retries 0, a down', front: HAPROXY_NO_RETRIES, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'HAProxy failover by black hole: retry-on response-timeout and redispatch, a black-holed', front: HAPROXY_RETRIES, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'HAProxy failover by black hole: retries 0, a black-holed', front: HAPROXY_NO_RETRIES, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'HAProxy retries: retries 3 with redispatch, a resets every connection', front: HAPROXY_RETRIES, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
  { expected: 'fail', spec: { title: 'HAProxy retries: retries 0, a resets every connection', front: HAPROXY_NO_RETRIES, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
];

export const caddyCases: AcceptanceCase[] = [
  { expected: 'pass', spec: { title: 'Caddy timeouts: response_header_timeout 1s under a 3 s delay', front: caddy({ responseHeaderTimeout: '1s' }), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'fail', spec: { title: 'Caddy timeouts: no transport timeout under a 3 s delay', front: caddy({}), upstreams: ['a'], fault: latency3s('a'), verdict: TIMEOUT_BOUND, rate: 20 } },
  { expected: 'pass', spec: { title: 'Caddy failover by refusal: lb_retries 2, round_robin, fail_duration 10s, a down', front: CADDY_FAILOVER, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'Caddy failover by refusal: no retries, no passive checks, a down', front: CADDY_NO_RETRIES, upstreams: ['a', 'b'], fault: downA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'Caddy failover by black hole: response_header_timeout 1s, lb_retries 2, fail_duration 10s, a black-holed', front: CADDY_FAILOVER, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'fail', spec: { title: 'Caddy failover by black hole: response_header_timeout 1s, no retries, a black-holed', front: CADDY_NO_RETRIES, upstreams: ['a', 'b'], fault: blackHoleA, verdict: FAILOVER_BOUND } },
  { expected: 'pass', spec: { title: 'Caddy retries: lb_try_duration 2s, round_robin, a resets every connection', front: CADDY_RETRIES, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
  { expected: 'fail', spec: { title: 'Caddy retries: no lb_retries or lb_try_duration, a resets every connection', front: CADDY_NO_RETRIES, upstreams: ['a', 'b'], fault: resetA, verdict: RETRIES_BOUND } },
];

// Each decoy runs against a broken configuration: had its fault tested the mechanism, the verdict would
// fail; a pass can only mean the verdict trusted a fault that never reached the traffic.
export const decoyCases: AcceptanceCase[] = [
  {
    expected: 'not-exercised',
    spec: { title: 'decoy: 3 s latency on a proxy the traffic never crosses (nginx without read timeout)', front: nginx({}), upstreams: ['a'], fault: latency3s('decoy'), verdict: TIMEOUT_BOUND, rate: 20 },
  },
  {
    expected: 'not-exercised',
    spec: { title: 'decoy: down on a proxy off the path (nginx without failover)', front: NGINX_NO_FAILOVER, upstreams: ['a', 'b'], fault: (bench) => ({ action: 'down', with: { proxy: bench.proxies.decoy.name } }), verdict: FAILOVER_BOUND },
  },
  {
    // HAProxy reuses its server connections and Toxiproxy draws toxicity per connection: the resets may
    // hit no request at all. Never a pass; a fail is right too if one did hit (retries 0).
    expected: 'not-pass',
    spec: { title: 'decoy: reset 20% of connections that HAProxy pools (retries 0)', front: HAPROXY_NO_RETRIES, upstreams: ['a', 'b'], fault: (bench) => ({ action: 'reset-peer', with: { proxy: bench.proxies.a.name, toxicity: 0.2 } }), verdict: RETRIES_BOUND },
  },
  {
    // Caddy pools its upstream connections too (Go's keep-alive pool): same trap as HAProxy's.
    expected: 'not-pass',
    spec: { title: 'decoy: reset 20% of connections that Caddy pools (no retries)', front: CADDY_NO_RETRIES, upstreams: ['a', 'b'], fault: (bench) => ({ action: 'reset-peer', with: { proxy: bench.proxies.a.name, toxicity: 0.2 } }), verdict: RETRIES_BOUND },
  },
  {
    expected: 'not-exercised',
    spec: { title: 'decoy: 3 s latency on a proxy the traffic never crosses (Caddy without transport timeout)', front: caddy({}), upstreams: ['a'], fault: latency3s('decoy'), verdict: TIMEOUT_BOUND, rate: 20 },
  },
  {
    expected: 'not-exercised',
    spec: { title: 'decoy: 200 ms delay against a p99 bound of 1.5 s (nginx without read timeout)', front: nginx({}), upstreams: ['a'], fault: (bench) => ({ action: 'latency', with: { proxy: bench.proxies.a.name, latency: '200ms' } }), verdict: TIMEOUT_BOUND, rate: 20 },
  },
];
