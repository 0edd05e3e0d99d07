// Evidence of reach from EndpointSlices: which target pods a Service routed to at apply time.
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/cli.js';
import { testDriverContext } from '../../../test/support/driver-context.js';
import { createDeployment, createNamespace, deleteNamespace, kubeClients, testTarget, waitForReadyPods } from '../../../test/support/kubernetes.js';
import { requireKubernetes, TEST_LABELS, type KubernetesSettings } from '../../../test/support/testenv.js';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ActionDefinition } from '../types.js';
import { kubernetesDriver } from './index.js';
import { judgePartitionReach, judgePodReach, readyEndpoints } from './reach.js';

const slice = (service: string, endpoints: [string, boolean][]): V1EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  endpoints: endpoints.map(([name, ready]) => ({ addresses: ['10.0.0.1'], conditions: { ready }, targetRef: { kind: 'Pod', name, namespace: 'shop' } })),
});

describe('readyEndpoints', () => {
  it('names the Services each target pod is a ready endpoint of, and skips not-ready endpoints and other pods', () => {
    const slices = [slice('web', [['web-1', true], ['web-2', false], ['other', true]]), slice('web-internal', [['web-1', true]])];
    expect(readyEndpoints(slices, [{ namespace: 'shop', name: 'web-1' }, { namespace: 'shop', name: 'web-2' }])).toEqual({ 'endpoint:shop/web:web-1': 1, 'endpoint:shop/web-internal:web-1': 1 });
  });
});

describe('judgePodReach', () => {
  it('a pod a Service routed to was reached; one no Service routes to cannot be told', () => {
    expect(judgePodReach('kill', { applied: { counters: { pods: 2, 'endpoint:shop/web:web-1': 1 } } })).toEqual({
      source: 'driver',
      reached: true,
      summary: '1 of 2 pod(s) (web-1) were ready endpoints of Service shop/web at the kill',
    });
    expect(judgePodReach('kill', { applied: { counters: { pods: 1 } } }).reached).toBeNull();
    expect(judgePodReach('kill', { applied: { counters: {}, unavailable: 'cannot read the EndpointSlices: 403' } })).toMatchObject({ reached: null, summary: 'cannot read the EndpointSlices: 403' });
  });

  it('a partition is never "reached" on endpoints alone: whether the policy cut the requests is for the traffic to show', () => {
    const served = judgePartitionReach({ applied: { counters: { pods: 2, 'endpoint:shop/web:web-1': 1, 'endpoint:shop/web:web-2': 1 } } });
    expect(served.reached).toBeNull();
    expect(served.summary).toMatch(/^2 of 2 pod\(s\) \(web-1, web-2\) were ready endpoints of Service shop\/web at the partition; whether the NetworkPolicy cut/);
    expect(judgePartitionReach({ applied: { counters: { pods: 1 } } }).reached).toBeNull();
    const action = kubernetesDriver.actions.partition as ActionDefinition;
    expect(action.judgeReach!({}, { applied: { counters: { pods: 1, 'endpoint:shop/web:web-1': 1 } } }).reached).toBeNull();
  });

  it('effects: a killed or drained pod refuses, a partitioned one is a black hole, scale to 0 refuses', () => {
    const action = (name: keyof typeof kubernetesDriver.actions) => kubernetesDriver.actions[name] as ActionDefinition;
    expect(action('pod-kill').effect!({})).toEqual({ outage: 'refused' });
    expect(action('partition').effect!({})).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(action('drain').effect!({})).toEqual({ outage: 'refused' });
    expect(action('scale').effect!({ replicas: 0 })).toEqual({ outage: 'refused' });
    expect(action('scale').effect!({ replicas: 2 })).toEqual({});
  });
});

describe('reach on the test cluster', () => {
  let settings: KubernetesSettings | undefined;
  let namespace: string | undefined;
  afterAll(() => deleteNamespace(settings, namespace));

  it('pods behind a Service are ready endpoints at the kill; pods no Service selects cannot be told', async (t) => {
    settings = await requireKubernetes(t);
    namespace = await createNamespace(settings, 'faultline-k8s-reach');
    await createDeployment(settings, namespace, 'served', 2);
    await createDeployment(settings, namespace, 'unserved', 1);
    await kubeClients(settings).core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'web', labels: { ...TEST_LABELS } }, spec: { selector: { app: 'served' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    await waitForReadyPods(settings, namespace, 'app=served', 2);
    await waitForReadyPods(settings, namespace, 'app=unserved', 1);
    const ctx = testDriverContext({ target: testTarget(settings, namespace), runId: `test-reach-${Date.now()}`, seed: 7 });
    const kill = kubernetesDriver.actions['pod-kill'] as ActionDefinition;
    const judge = async (app: string) => {
      const args = kill.args.parse({ namespace, labelSelector: `app=${app}`, mode: 'all' });
      const prepared = await kill.prepare(args, ctx);
      // The EndpointSlice controller fills the slice shortly after the pods are ready.
      return eventually(`a reading for app=${app}`, async () => {
        const evidence = kill.judgeReach!(args, { applied: await kill.readReach!(args, prepared, ctx) });
        return app === 'unserved' || evidence.reached ? evidence : undefined;
      }, 30_000);
    };
    expect(await judge('served')).toMatchObject({ reached: true, summary: expect.stringMatching(new RegExp(`^2 of 2 pod\\(s\\) .* were ready endpoints of Service ${namespace}/web at the kill$`)) });
    expect(await judge('unserved')).toMatchObject({ reached: null, summary: expect.stringMatching(/^none of the 1 pod\(s\) was a ready endpoint of a Service/) });
  }, 120_000);
});
