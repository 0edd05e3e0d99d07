// A real Kubernetes node beside the kwok ones: kubelet and kube-proxy built from Go modules at the
// control plane's release, Debian's containerd and runc, the reference CNI plugins (a bridge on
// 10.244.0.0/24), and kube-router in firewall-only mode enforcing NetworkPolicy. Pods on it run real
// containers from the local test images, so faults can be proven with traffic. The node is tainted
// and labelled faultline.dev/real-node=true: only pods that ask for it land there, and kwok (which
// manages only nodes annotated kwok.x-k8s.io/node=fake) leaves it alone.
//
// What this machine's kernel allows, and how the node is configured for it:
// - cgroup v1 only: kubelet runs with failCgroupV1: false and the cgroupfs driver.
// - No netem qdisc: nothing here needs it; latency faults on pods cannot be tested on this kernel.
// - kubelet wants to set vm.overcommit_memory, kernel.panic_on_oops and friends on start; on a shared
//   machine that must not happen, so containerd and kubelet run in a mount namespace of their own in
//   which those /proc/sys files are bind-mounted copies holding kubelet's values, and kubelet runs
//   with protectKernelDefaults (it would stop rather than write a sysctl). Volumes kubelet mounts and
//   containerd's overlays live in that namespace too, so `down` leaves no mount behind.
// - kubelet refuses a loopback node IP (127/8), so the node's address is 10.243.0.1 added to `lo`
//   (the kernel has no dummy interfaces; no other machine routes to it), and /etc/hosts names it,
//   because the apiserver reaches kubelets by their hostname first.
import { request as httpRequest } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { componentCacheDir, logPath, stateDir } from './layout.js';
import { buildEnvForGo, requireGo } from './golang.js';
import { hasProgram, runCommand, runLoggedStep, runningDaemonPid, sleep, startDaemon, stopDaemon, waitFor } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import {
  apiserverUrl,
  goModuleInfo,
  kubeApiRequest,
  kubeDir,
  KUBE_CONTEXT,
  KUBERNETES_VERSION,
  signCertificate,
  versionLdflags,
  wrapperGoMod,
} from './kubernetes.js';
import type { UpContext } from './index.js';

export const KUBE_ROUTER_VERSION = '2.1.0'; // The newest kube-router/v2 the Go module proxy serves.
export const REAL_NODE_NAME = 'faultline-real-node';
/** Label and taint key: tests pick the node with a nodeSelector and tolerate the taint. */
export const REAL_NODE_LABEL = 'faultline.dev/real-node';
export const POD_CIDR = '10.244.0.0/24';
const CLUSTER_CIDR = '10.244.0.0/16';
const NODE_IP = '10.243.0.1';
const BRIDGE = 'fl-cni0';
const CNI_NETWORK = 'faultline-real-node';
const HOSTS_MARK = '# faultline testenv real node';
const CNI_BIN_DIR = '/usr/lib/cni';
const PATH_FOR_DAEMONS = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const DAEMONS = ['kube-router', 'kube-proxy', 'kubelet', 'node-containerd'] as const;

/** The values kubelet's setupKernelTunables wants; see the module comment for why they are faked. */
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

function ports(env: NodeJS.ProcessEnv) {
  const offset = Number(env.FAULTLINE_TESTENV_PORT_OFFSET ?? 0);
  return {
    kubelet: 17250 + offset,
    kubeletHealthz: 17251 + offset,
    kubeProxyHealthz: 17252 + offset,
    kubeProxyMetrics: 17253 + offset,
    kubeRouterMetrics: 17254 + offset,
  };
}

export interface KubernetesNodeResult {
  node: string;
  label: string;
  containerdAddress: string;
  containerdVersion: string;
  podCidr: string;
}

/**
 * Writes a config file only when its content changes: kube-proxy exits when its file changes under
 * it, and an `up` that finds everything running must leave the running daemons alone.
 */
function writeIfChanged(path: string, text: string, mode?: number): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(`${path}.tmp`, text, mode === undefined ? {} : { mode });
  renameSync(`${path}.tmp`, path);
  return true;
}

function nodeDir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'kubernetes-node');
}

function containerdSocket(env: NodeJS.ProcessEnv): string {
  return join(nodeDir(env), 'containerd', 'containerd.sock');
}

function mountNamespaceFile(env: NodeJS.ProcessEnv): string {
  return join(nodeDir(env), 'mount-namespace');
}

// ---------------------------------------------------------------------------------------------
// Binaries

async function ensureNodeBinaries({ log, env, allowBuilds }: UpContext): Promise<{ kubelet: string; kubeProxy: string }> {
  // A folder of its own: the control plane's binaries (and their build folder) stay as they are.
  const folder = componentCacheDir('kubernetes-node', `v${KUBERNETES_VERSION}`, env);
  const binDir = join(folder, 'bin');
  const binaries = { kubelet: join(binDir, 'kubelet'), kubeProxy: join(binDir, 'kube-proxy') };
  if (Object.values(binaries).every((binary) => existsSync(binary))) return binaries;
  if (!allowBuilds) throw new NotBuiltError(`kubelet and kube-proxy v${KUBERNETES_VERSION}`);
  await requireGo(env);
  const logFile = logPath('kubernetes-node-build', env);
  const buildDir = join(folder, 'build');
  mkdirSync(buildDir, { recursive: true });
  log(`building kubelet and kube-proxy v${KUBERNETES_VERSION} from Go modules (about 1 minute on 2 cores once the control plane is built: they share most of its packages; log: ${logFile})`);
  const kubernetesModule = await goModuleInfo(`k8s.io/kubernetes@v${KUBERNETES_VERSION}`, env, logFile);
  writeFileSync(join(buildDir, 'go.mod'), wrapperGoMod(readFileSync(kubernetesModule.GoMod, 'utf8')).replace('k8s-build', 'k8s-node-build'));
  // The control plane's go.sum already holds most checksums this build needs.
  const controlPlaneSum = join(componentCacheDir('kubernetes', `v${KUBERNETES_VERSION}`, env), 'build', 'go.sum');
  if (!existsSync(join(buildDir, 'go.sum')) && existsSync(controlPlaneSum)) copyFileSync(controlPlaneSum, join(buildDir, 'go.sum'));
  const staging = join(folder, 'bin.partial');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await runLoggedStep(
    `building kubelet and kube-proxy v${KUBERNETES_VERSION}`,
    'nice',
    ['go', 'build', '-mod=mod', '-trimpath', `-ldflags=${versionLdflags()}`, '-o', `${staging}/`, 'k8s.io/kubernetes/cmd/kubelet', 'k8s.io/kubernetes/cmd/kube-proxy'],
    { logFile, env: buildEnvForGo(env), cwd: buildDir, timeoutMs: 60 * 60_000 },
  );
  rmSync(binDir, { recursive: true, force: true });
  renameSync(staging, binDir);
  return binaries;
}

async function ensureKubeRouter({ log, env, allowBuilds }: UpContext): Promise<string> {
  const folder = componentCacheDir('kube-router', `v${KUBE_ROUTER_VERSION}`, env);
  const binary = join(folder, 'bin', 'kube-router');
  if (existsSync(binary)) return binary;
  if (!allowBuilds) throw new NotBuiltError(`kube-router v${KUBE_ROUTER_VERSION}`);
  await requireGo(env);
  const logFile = logPath('kube-router-build', env);
  log(`building kube-router v${KUBE_ROUTER_VERSION} with go install (about 5 minutes on 2 cores; log: ${logFile})`);
  await runLoggedStep(`go install kube-router v${KUBE_ROUTER_VERSION}`, 'nice', ['go', 'install', '-trimpath', '-ldflags=-s -w', `github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v${KUBE_ROUTER_VERSION}`], {
    logFile,
    env: { ...buildEnvForGo(env), GOBIN: join(folder, 'bin') },
    timeoutMs: 40 * 60_000,
  });
  return binary;
}

const DEBIAN_PACKAGES: Record<string, string> = {
  containerd: 'containerd',
  'containerd-shim-runc-v2': 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  ipset: 'ipset',
  iptables: 'iptables',
  conntrack: 'conntrack',
  unshare: 'util-linux',
  nsenter: 'util-linux',
};

/** containerd, runc, the CNI plugins and ipset from Debian's packages, installed when missing. */
async function ensurePackages({ log, env, allowBuilds }: UpContext): Promise<void> {
  const missing = new Set<string>();
  for (const [program, pkg] of Object.entries(DEBIAN_PACKAGES)) if (!(await hasProgram(program))) missing.add(pkg);
  if (!existsSync(join(CNI_BIN_DIR, 'bridge'))) missing.add('containernetworking-plugins');
  if (missing.size === 0) return;
  if (!allowBuilds) throw new NotBuiltError(`the real node's packages (${[...missing].join(', ')})`);
  const logFile = logPath('kubernetes-node-packages', env);
  log(`installing ${[...missing].join(', ')} with apt-get (about a minute; log: ${logFile})`);
  await runLoggedStep('apt-get install', 'apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    logFile,
    env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 10 * 60_000,
  });
}

// ---------------------------------------------------------------------------------------------
// Identities: client certificates from the control plane's CA, one kubeconfig each

const NODE_IDENTITIES = {
  kubelet: `system:node:${REAL_NODE_NAME}`,
  'kube-proxy': 'system:kube-proxy',
  'kube-router': 'kube-router',
} as const;

/** The kubeconfig of each identity, and the identities whose kubeconfig changed (their daemon must restart). */
async function ensureKubeconfigs(env: NodeJS.ProcessEnv): Promise<{ paths: Record<keyof typeof NODE_IDENTITIES, string>; changed: Set<string> }> {
  const pkiDir = join(kubeDir(env), 'pki');
  if (!existsSync(join(pkiDir, 'ca.key'))) throw new TestEnvError('the control plane has no CA yet: bring `kubernetes` up first');
  const paths = {} as Record<keyof typeof NODE_IDENTITIES, string>;
  const changed = new Set<string>();
  for (const [identity, cn] of Object.entries(NODE_IDENTITIES) as [keyof typeof NODE_IDENTITIES, string][]) {
    const name = `node-${identity}`;
    // system:masters: this cluster's authorizer is RBAC alone (no Node authorizer), and a test node needs no less.
    // Signed again when the control plane's CA is newer than the certificate (a new cluster).
    const certificate = join(pkiDir, `${name}.crt`);
    if (!existsSync(certificate) || statSync(certificate).mtimeMs < statSync(join(pkiDir, 'ca.crt')).mtimeMs) {
      await signCertificate(pkiDir, name, `/O=system:masters/CN=${cn}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', env);
    }
    const base64 = (file: string) => readFileSync(join(pkiDir, file)).toString('base64');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: KUBE_CONTEXT, cluster: { server: apiserverUrl(env), 'certificate-authority-data': base64('ca.crt') } }],
      users: [{ name: cn, user: { 'client-certificate-data': base64(`${name}.crt`), 'client-key-data': base64(`${name}.key`) } }],
      contexts: [{ name: KUBE_CONTEXT, context: { cluster: KUBE_CONTEXT, user: cn } }],
      'current-context': KUBE_CONTEXT,
    };
    paths[identity] = join(nodeDir(env), `${identity}.kubeconfig`);
    if (writeIfChanged(paths[identity], toYaml(config), 0o600)) changed.add(identity);
  }
  return { paths, changed };
}

// ---------------------------------------------------------------------------------------------
// Host set-up: the node's address, its name in /etc/hosts, the mount namespace

async function must(what: string, program: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCommand(program, args, { env: { ...env, PATH: PATH_FOR_DAEMONS } });
  if (result.code !== 0) throw new TestEnvError(`${what}: ${program} ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

async function ensureNodeAddress(env: NodeJS.ProcessEnv): Promise<void> {
  const shown = await runCommand('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'], { env });
  if (shown.stdout.includes(` ${NODE_IP}/32 `)) return;
  await must('the node address', 'ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'], env);
}

const CGROUP_ROOT = 'faultline-real-node';

/** Mount points of the cgroup v1 hierarchies (this kernel has no unified cgroup v2 setup). */
function cgroupV1Mounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'cgroup')
    .map((fields) => fields[1]!);
}

/** kubelet's cgroupRoot must exist in every hierarchy before it starts; it makes kubepods inside. */
function ensureCgroupRoot(): void {
  for (const mount of cgroupV1Mounts()) mkdirSync(join(mount, CGROUP_ROOT), { recursive: true });
}

function ensureHostsEntry(): void {
  const hosts = readFileSync('/etc/hosts', 'utf8');
  const line = `${NODE_IP} ${REAL_NODE_NAME} ${HOSTS_MARK}`;
  if (hosts.split('\n').includes(line)) return;
  const kept = hosts.split('\n').filter((entry) => !entry.endsWith(HOSTS_MARK));
  writeFileSync('/etc/hosts', `${kept.join('\n').replace(/\n*$/, '\n')}${line}\n`);
}

function removeHostsEntry(): void {
  const hosts = readFileSync('/etc/hosts', 'utf8');
  if (!hosts.includes(HOSTS_MARK)) return;
  writeFileSync('/etc/hosts', hosts.split('\n').filter((entry) => !entry.endsWith(HOSTS_MARK)).join('\n'));
}

/** nsenter arguments that run a program in the node's mount namespace. */
function inNamespace(env: NodeJS.ProcessEnv): string[] {
  return ['nsenter', `--mount=${mountNamespaceFile(env)}`, '--'];
}

/** A persistent mount namespace, pinned by a bind mount on a file, with kubelet's sysctl values faked. */
async function ensureMountNamespace(env: NodeJS.ProcessEnv): Promise<void> {
  const pin = mountNamespaceFile(env);
  if ((await runCommand('nsenter', [`--mount=${pin}`, '--', 'true'], { env })).code !== 0) {
    writeFileSync(pin, '');
    const made = await runCommand('unshare', [`--mount=${pin}`, '--propagation', 'private', 'true'], { env });
    if (made.code !== 0) {
      // unshare pins a namespace only on a privately propagated mount; give the folder one of its own.
      const dir = nodeDir(env);
      await must('the mount namespace', 'mount', ['--bind', dir, dir], env);
      await must('the mount namespace', 'mount', ['--make-private', dir], env);
      await must('the mount namespace', 'unshare', [`--mount=${pin}`, '--propagation', 'private', 'true'], env);
    }
  }
  const sysctlDir = join(nodeDir(env), 'sysctl');
  mkdirSync(sysctlDir, { recursive: true });
  const script = Object.entries(KUBELET_SYSCTLS).map(([name, value]) => {
    const copy = join(sysctlDir, name.replaceAll('/', '.'));
    writeIfChanged(copy, `${value}\n`);
    // Idempotent: a file that reads kubelet's value already (faked, or the host's own) is left alone.
    return `[ "$(cat /proc/sys/${name})" = "${value}" ] || mount --bind '${copy}' /proc/sys/${name}`;
  });
  await must('faking kubelet sysctls in the node namespace', 'nsenter', [`--mount=${pin}`, '--', 'sh', '-ec', script.join('\n')], env);
}

// ---------------------------------------------------------------------------------------------
// containerd, CNI, images

function writeCniConfig(env: NodeJS.ProcessEnv): string {
  const confDir = join(nodeDir(env), 'cni', 'net.d');
  mkdirSync(confDir, { recursive: true });
  const conflist = {
    cniVersion: '1.0.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        // A pod reaching itself through its Service comes back over the same bridge port.
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(nodeDir(env), 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      // Docker's FORWARD policy here is DROP; this plugin accepts the pods' own traffic in CNI-FORWARD.
      { type: 'firewall', backend: 'iptables' },
    ],
  };
  writeIfChanged(join(confDir, '10-faultline.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
  return confDir;
}

function writeContainerdConfig(env: NodeJS.ProcessEnv, sandboxImage: string): string {
  const dir = join(nodeDir(env), 'containerd');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.toml');
  const quote = (value: string) => JSON.stringify(value);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  writeIfChanged(
    path,
    [
      '# Written by testenv/kubernetes-node.ts: the real node\'s own containerd, not Docker\'s.',
      'version = 2',
      `root = ${quote(join(dir, 'root'))}`,
      `state = ${quote(join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${quote(containerdSocket(env))}`,
      '[ttrpc]',
      `  address = ${quote(`${containerdSocket(env)}.ttrpc`)}`,
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${quote(join(dir, 'opt'))}`,
      `[${cri}]`,
      `  sandbox_image = ${quote(sandboxImage)}`,
      // The exec/attach stream server: loopback, a port the kernel picks.
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  disable_apparmor = true',
      // This machine withholds CAP_SYS_RESOURCE even from root, so a negative oom_score_adj (kubelet
      // gives sandboxes -998) fails runc; restricted, containerd caps it at its own score.
      '  restrict_oom_score_adj = true',
      `[${cri}.containerd]`,
      '  snapshotter = "overlayfs"',
      '  default_runtime_name = "runc"',
      `[${cri}.containerd.runtimes.runc]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.containerd.runtimes.runc.options]`,
      '  SystemdCgroup = false',
      `  Root = ${quote(join(dir, 'runc'))}`,
      `[${cri}.cni]`,
      `  bin_dir = ${quote(CNI_BIN_DIR)}`,
      `  conf_dir = ${quote(writeCniConfig(env))}`,
      '  max_conf_num = 1',
      '',
    ].join('\n'),
  );
  return path;
}

function ctr(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 30_000) {
  return runCommand('ctr', ['--address', containerdSocket(env), '--namespace', 'k8s.io', ...args], { env, timeoutMs });
}

async function containerdVersion(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!existsSync(containerdSocket(env))) return undefined;
  const result = await runCommand('ctr', ['--address', containerdSocket(env), 'version'], { env, timeoutMs: 5_000 });
  return result.code === 0 ? /Server:[\s\S]*?Version:\s*(\S+)/.exec(result.stdout)?.[1] : undefined;
}

/** Name containerd gives an image docker saved as `name`: short names live under docker.io. */
function containerdName(name: string): string {
  const first = name.split('/')[0]!;
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return name;
  return `docker.io/${name.includes('/') ? name : `library/${name}`}`;
}

/**
 * The pause image: the busybox test image whose command sleeps forever (containerd stops a pod
 * sandbox with SIGKILL, so it needs no signal handling), committed in Docker under the busybox tag.
 */
async function ensurePauseImage(busyboxImage: string, dockerHost: string, env: NodeJS.ProcessEnv): Promise<string> {
  const tag = `faultline-test/pause:${busyboxImage.split(':').pop()}`;
  const docker = { ...env, DOCKER_HOST: dockerHost };
  if ((await runCommand('docker', ['image', 'inspect', tag], { env: docker })).code === 0) return tag;
  const builder = `faultline-pause-build-${process.pid}`;
  await must('the pause image', 'docker', ['create', '--name', builder, busyboxImage, '/bin/sleep', '2147483647'], docker);
  try {
    await must('the pause image', 'docker', ['commit', builder, tag], docker);
  } finally {
    await runCommand('docker', ['rm', '-f', builder], { env: docker });
  }
  return tag;
}

/** `docker save | ctr import` for the test images containerd does not hold yet. */
export async function importImages(images: string[], dockerHost: string, env: NodeJS.ProcessEnv): Promise<void> {
  const listed = await ctr(env, ['images', 'ls', '-q']);
  const have = new Set(listed.stdout.split('\n').map((line) => line.trim()));
  const missing = images.filter((image) => !have.has(containerdName(image)));
  if (missing.length === 0) return;
  const quoted = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const command = `docker save ${missing.map(quoted).join(' ')} | ctr --address ${quoted(containerdSocket(env))} --namespace k8s.io images import -`;
  await runLoggedStep(`importing ${missing.join(', ')} into the node's containerd`, 'sh', ['-ec', command], {
    logFile: logPath('kubernetes-node-images', env),
    env: { ...env, DOCKER_HOST: dockerHost },
    timeoutMs: 5 * 60_000,
  });
}

// ---------------------------------------------------------------------------------------------
// kubelet, kube-proxy, kube-router

function writeKubeletConfig(env: NodeJS.ProcessEnv): string {
  const dir = nodeDir(env);
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The apiserver reaches the kubelet at the node's name (/etc/hosts → its address on lo).
    address: NODE_IP,
    port: ports(env).kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports(env).kubeletHealthz,
    // The apiserver presents no client certificate (it has no --kubelet-client-certificate); the
    // kubelet listens only on an address no other machine can reach.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false }, x509: { clientCAFile: join(kubeDir(env), 'pki', 'ca.crt') } },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${containerdSocket(env)}`,
    // This kernel mounts cgroup v1 only; kubelet 1.35+ refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${CGROUP_ROOT}`,
    failSwapOn: false,
    // With the sysctls faked in its namespace kubelet finds its values; it must never write the host's.
    protectKernelDefaults: true,
    registerWithTaints: [{ key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' }],
    // A shared test machine: other work fills its disk and memory, and evicting test pods for that
    // would only make tests flaky. fill-disk fills a container's own (size-limited) volume instead.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    // The images are imported, never pulled: garbage collection would lose them for good.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    maxPods: 60,
    podLogsDir: join(dir, 'pod-logs'),
    volumePluginDir: join(dir, 'volume-plugins'),
    resolvConf: '/etc/resolv.conf',
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
  };
  const path = join(dir, 'kubelet-config.yaml');
  writeIfChanged(path, toYaml(config));
  return path;
}

function writeKubeProxyConfig(env: NodeJS.ProcessEnv, kubeconfig: string): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: REAL_NODE_NAME,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${ports(env).kubeProxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${ports(env).kubeProxyMetrics}`,
    clusterCIDR: CLUSTER_CIDR,
    // Zeros: leave the host's conntrack table size and timeouts as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // NodePorts only on the node's own address; localhost NodePorts would set route_localnet.
    nodePortAddresses: [`${NODE_IP}/32`],
    iptables: { localhostNodePorts: false, syncPeriod: '30s', minSyncPeriod: '0s' },
  };
  const path = join(nodeDir(env), 'kube-proxy-config.yaml');
  writeIfChanged(path, toYaml(config));
  return path;
}

function httpOk(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

interface NodeObject {
  metadata?: { labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string; message?: string }[]; nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string } };
}

async function readNode(env: NodeJS.ProcessEnv): Promise<NodeObject | undefined> {
  const response = await kubeApiRequest('GET', `/api/v1/nodes/${REAL_NODE_NAME}`, undefined, env).catch(() => undefined);
  return response?.status === 200 ? (response.body as NodeObject) : undefined;
}

function nodeReady(node: NodeObject | undefined): boolean {
  return !!node?.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

async function startAndWait(
  name: (typeof DAEMONS)[number],
  spec: { program: string; args: string[]; wrapper?: string[] },
  healthy: () => Promise<unknown>,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (runningDaemonPid(name, env) !== undefined && (await healthy())) return;
  await stopDaemon(name, 10_000, env);
  const { pid, logFile } = startDaemon({ name, ...spec, env: { ...env, PATH: PATH_FOR_DAEMONS } }, env);
  await waitFor(`${name} to become healthy`, async () => ((await healthy()) ? true : undefined), {
    timeoutMs,
    intervalMs: 500,
    logFile,
    stillAlive: () => runningDaemonPid(name, env) === pid,
  });
}

export interface NodeUpInputs {
  dockerHost: string;
  busyboxImage: string;
  nodeImage: string;
}

export async function upKubernetesNode(context: UpContext, inputs: NodeUpInputs): Promise<KubernetesNodeResult> {
  const { env, log } = context;
  if (process.getuid?.() !== 0) throw new TestEnvError('the real node needs root (kubelet, containerd, iptables); run `up` as root or leave kubernetes-node out of FAULTLINE_TESTENV');
  await ensurePackages(context);
  const { kubelet, kubeProxy } = await ensureNodeBinaries(context);
  const kubeRouter = await ensureKubeRouter(context);
  const dir = nodeDir(env);
  mkdirSync(dir, { recursive: true });
  const { paths: kubeconfigs, changed } = await ensureKubeconfigs(env);
  // A daemon running with credentials that changed under it keeps the old ones: start it again.
  for (const identity of changed) await stopDaemon(identity, 15_000, env);
  await ensureNodeAddress(env);
  ensureHostsEntry();
  await ensureMountNamespace(env);
  ensureCgroupRoot();
  const wrapper = inNamespace(env);

  const pause = await ensurePauseImage(inputs.busyboxImage, inputs.dockerHost, env);
  const containerdConfig = writeContainerdConfig(env, containerdName(pause));
  await startAndWait('node-containerd', { program: 'containerd', args: ['--config', containerdConfig, '--log-level', 'warn'], wrapper }, () => containerdVersion(env), 30_000, env);
  await importImages([pause, inputs.busyboxImage, inputs.nodeImage], inputs.dockerHost, env);

  log(`starting the real node ${REAL_NODE_NAME} (kubelet, kube-proxy, kube-router; about 30 s)`);
  await startAndWait(
    'kubelet',
    {
      program: kubelet,
      args: [
        '--config', writeKubeletConfig(env),
        '--kubeconfig', kubeconfigs.kubelet,
        '--hostname-override', REAL_NODE_NAME,
        '--node-ip', NODE_IP,
        '--root-dir', join(dir, 'kubelet'),
        '--cert-dir', join(dir, 'kubelet', 'pki'),
        '--node-labels', `${REAL_NODE_LABEL}=true`,
      ],
      wrapper,
    },
    () => httpOk(ports(env).kubeletHealthz, '/healthz'),
    60_000,
    env,
  );
  await waitFor(`node ${REAL_NODE_NAME} to become Ready`, async () => (nodeReady(await readNode(env)) ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 1_000,
    logFile: logPath('kubelet', env),
  });
  await startAndWait(
    'kube-proxy',
    { program: kubeProxy, args: ['--config', writeKubeProxyConfig(env, kubeconfigs['kube-proxy'])] },
    () => httpOk(ports(env).kubeProxyHealthz, '/healthz'),
    60_000,
    env,
  );
  await startAndWait(
    'kube-router',
    {
      program: kubeRouter,
      args: [
        '--kubeconfig', kubeconfigs['kube-router'],
        '--hostname-override', REAL_NODE_NAME,
        // Firewall only: kube-proxy serves Services and the CNI bridge routes.
        '--run-firewall=true', '--run-router=false', '--run-service-proxy=false', '--enable-cni=false',
        '--enable-ipv4=true', '--enable-ipv6=false',
        // Its health port listens on every interface; the metrics one can be held to loopback.
        '--health-port=0',
        '--metrics-addr=127.0.0.1', `--metrics-port=${ports(env).kubeRouterMetrics}`,
      ],
    },
    () => httpOk(ports(env).kubeRouterMetrics, '/metrics'),
    60_000,
    env,
  );
  return {
    node: REAL_NODE_NAME,
    label: `${REAL_NODE_LABEL}=true`,
    containerdAddress: containerdSocket(env),
    containerdVersion: (await containerdVersion(env)) ?? 'unknown',
    podCidr: POD_CIDR,
  };
}

export interface KubernetesNodeStatus {
  healthy: boolean;
  kubeletVersion?: string;
  runtime?: string;
  problems: string[];
}

export async function kubernetesNodeStatus(env: NodeJS.ProcessEnv = process.env): Promise<KubernetesNodeStatus> {
  const problems: string[] = [];
  for (const daemon of DAEMONS) if (runningDaemonPid(daemon, env) === undefined) problems.push(`${daemon} is not running`);
  const node = existsSync(join(kubeDir(env), 'pki', 'admin.crt')) ? await readNode(env) : undefined;
  if (!node) problems.push(`node ${REAL_NODE_NAME} is not registered`);
  else if (!nodeReady(node)) problems.push(`node ${REAL_NODE_NAME} is not Ready`);
  if (problems.length === 0 && !(await httpOk(ports(env).kubeProxyHealthz, '/healthz'))) problems.push('kube-proxy is not healthy');
  return {
    healthy: problems.length === 0,
    kubeletVersion: node?.status?.nodeInfo?.kubeletVersion,
    runtime: node?.status?.nodeInfo?.containerRuntimeVersion,
    problems,
  };
}

/**
 * Deletes the Node and its pods while kubelet still runs, so it stops their sandboxes through containerd
 * and the CNI plugins take their addresses and iptables rules back (killing the containers behind
 * kubelet's back would leave those). Bounded; what is left is killed with ctr below.
 */
async function removePodsThroughKubelet(env: NodeJS.ProcessEnv): Promise<void> {
  if (runningDaemonPid('kubelet', env) === undefined || !existsSync(join(kubeDir(env), 'pki', 'admin.crt'))) return;
  // The Node first: the replacements controllers make for deleted pods then cannot be placed here.
  await kubeApiRequest('DELETE', `/api/v1/nodes/${REAL_NODE_NAME}`, undefined, env).catch(() => undefined);
  const listed = await kubeApiRequest('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${REAL_NODE_NAME}`, undefined, env).catch(() => undefined);
  const pods = listed?.status === 200 ? (listed.body as { items: { metadata: { namespace: string; name: string } }[] }).items : [];
  for (const { metadata } of pods) {
    await kubeApiRequest('DELETE', `/api/v1/namespaces/${metadata.namespace}/pods/${metadata.name}`, { gracePeriodSeconds: 0 }, env).catch(() => undefined);
  }
  for (let attempt = 0; attempt < 60 && (await ctr(env, ['tasks', 'ls', '-q'])).stdout.trim(); attempt++) await sleep(500);
}

/**
 * Stops the node: its containers first (containerd's shims outlive containerd), then the daemons,
 * their iptables rules, the bridge and the address; the mount namespace goes with its last process.
 */
export async function downKubernetesNode(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const stopped: string[] = [];
  await removePodsThroughKubelet(env);
  for (const name of ['kube-router', 'kube-proxy', 'kubelet'] as const) {
    if (await stopDaemon(name, 15_000, env)) stopped.push(name);
  }
  const routerBinary = join(componentCacheDir('kube-router', `v${KUBE_ROUTER_VERSION}`, env), 'bin', 'kube-router');
  const proxyBinary = join(componentCacheDir('kubernetes-node', `v${KUBERNETES_VERSION}`, env), 'bin', 'kube-proxy');
  if (existsSync(routerBinary)) await runCommand(routerBinary, ['--cleanup-config'], { env, timeoutMs: 30_000 });
  if (existsSync(proxyBinary)) await runCommand(proxyBinary, ['--cleanup'], { env, timeoutMs: 30_000 });
  if (runningDaemonPid('node-containerd', env) !== undefined) {
    const tasks = (await ctr(env, ['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    for (const task of tasks) await ctr(env, ['tasks', 'kill', '--all', '--signal', 'SIGKILL', task]);
    // Bounded: a killed task is reaped within a second or two.
    for (let attempt = 0; attempt < 20 && (await ctr(env, ['tasks', 'ls', '-q'])).stdout.trim(); attempt++) await sleep(250);
    for (const task of tasks) await ctr(env, ['tasks', 'delete', '--force', task]);
    const containers = (await ctr(env, ['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    if (containers.length) await ctr(env, ['containers', 'delete', ...containers]);
  }
  if (await stopDaemon('node-containerd', 15_000, env)) stopped.push('node-containerd');
  await runCommand('ip', ['link', 'delete', BRIDGE], { env });
  await runCommand('ip', ['addr', 'delete', `${NODE_IP}/32`, 'dev', 'lo'], { env });
  removeHostsEntry();
  // Deepest first; a cgroup that still holds a process stays (rmdir refuses it).
  for (const mount of cgroupV1Mounts()) {
    if (existsSync(join(mount, CGROUP_ROOT))) await runCommand('find', [join(mount, CGROUP_ROOT), '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { env });
  }
  await runCommand('umount', [mountNamespaceFile(env)], { env });
  rmSync(nodeDir(env), { recursive: true, force: true });
  return stopped;
}

