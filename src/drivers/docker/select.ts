// Which containers a docker fault hits: the selector (name, name pattern, labels, Compose project
// and service), the allow-list in `targets.docker`, and the shared selection rules (seeded modes,
// exclusions, min-healthy guard, empty selections). Only reads: list and inspect.
import type Docker from 'dockerode';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { checkMinHealthy, describeMode, exclusionSchema, isExcluded, isValidPattern, requireMatches, selectionModeSchema, selectTargets } from '../selection.js';
import type { ActionDefinition, DriverContext, ProbeDefinition, UndoDefinition } from '../types.js';
import { connectionShape, dockerClient, engineCall, isNotFound, resolveDockerHost, type DockerSession } from './connection.js';

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

const patternSchema = z.string().min(1).refine(isValidPattern, 'expected a regular expression');
const labelsSchema = z.record(z.string().min(1), z.string());

export const targetSettings = z
  .strictObject({
    ...connectionShape,
    containers: z
      .array(patternSchema)
      .optional()
      .meta({ description: 'Container names, or regular expressions matched against the whole name; only these may be touched.' }),
    labels: labelsSchema
      .optional()
      .meta({ description: 'Labels a container must carry, all of them, to be touched (e.g. com.docker.compose.project: shop).' }),
  })
  .refine((settings) => !(settings.host && settings.socketPath), { message: 'give host or socketPath, not both' })
  .meta({ description: 'Which Docker engine to use, and which containers the docker driver may touch.' });
export type DockerTargetSettings = z.output<typeof targetSettings>;

/** The fields that say which containers match, shared by the actions and the healthy-count probe. */
export const matchShape = {
  container: z.string().min(1).optional().meta({ description: 'A container name or id (a prefix of 12 or more hex digits).' }),
  namePattern: patternSchema.optional().meta({ description: 'A regular expression matched against the whole container name.' }),
  labels: labelsSchema.optional().meta({ description: 'Labels the container carries, all of them: { app: web, tier: front }.' }),
  compose: z
    .strictObject({
      project: z.string().min(1).optional().meta({ description: 'Docker Compose project (label com.docker.compose.project).' }),
      service: z.string().min(1).optional().meta({ description: 'Docker Compose service (label com.docker.compose.service).' }),
    })
    .refine((c) => c.project !== undefined || c.service !== undefined, 'name a project, a service or both')
    .optional()
    .meta({ description: 'Containers of a Docker Compose project and/or service.' }),
};

/** How many of the matches a fault hits, and the guards around it. */
export const selectShape = {
  ...matchShape,
  mode: selectionModeSchema.default('one'),
  exclude: exclusionSchema.optional(),
  minHealthy: z
    .int()
    .nonnegative()
    .optional()
    .meta({ description: 'Refuse the fault if it would leave fewer than this many healthy containers among those the selector matches.' }),
  allowEmpty: z.boolean().default(false).meta({ description: 'Let a selector that matches no running container pass (the fault then touches nothing).' }),
};

export type MatchArgs = {
  container?: string | undefined;
  namePattern?: string | undefined;
  labels?: Record<string, string> | undefined;
  compose?: { project?: string | undefined; service?: string | undefined } | undefined;
};
export type SelectArgs = MatchArgs & z.output<z.ZodObject<Pick<typeof selectShape, 'mode' | 'exclude' | 'minHealthy' | 'allowEmpty'>>>;

/** Every selector names something: an empty one would match every container on the engine. */
export function requireSelector(args: MatchArgs, ctx: z.RefinementCtx): void {
  if (args.container === undefined && args.namePattern === undefined && args.labels === undefined && args.compose === undefined) {
    ctx.addIssue({ code: 'custom', message: 'name the containers by container, namePattern, labels or compose' });
  }
}

/** A container as the driver refers to it: the id is what an undo acts on; the name is for people. */
export interface ContainerRef {
  id: string;
  name: string;
}

export const containerRefSchema = z.strictObject({ id: z.string().min(1), name: z.string() });

export interface Candidate extends ContainerRef {
  state: string;
  labels: Record<string, string>;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function describeContainer(candidate: ContainerRef & { labels?: Record<string, string> }): string {
  const project = candidate.labels?.[COMPOSE_PROJECT_LABEL];
  const service = candidate.labels?.[COMPOSE_SERVICE_LABEL];
  const compose = project || service ? `, compose ${project ?? '?'}/${service ?? '?'}` : '';
  return `container ${candidate.name} (${shortId(candidate.id)}${compose})`;
}

export function describeSelector(args: MatchArgs): string {
  const parts: string[] = [];
  if (args.container !== undefined) parts.push(`container ${args.container}`);
  if (args.namePattern !== undefined) parts.push(`name /${args.namePattern}/`);
  if (args.labels) parts.push(`labels ${Object.entries(args.labels).map(([k, v]) => `${k}=${v}`).join(',')}`);
  if (args.compose?.project !== undefined) parts.push(`compose project ${args.compose.project}`);
  if (args.compose?.service !== undefined) parts.push(`compose service ${args.compose.service}`);
  return parts.join(' and ');
}

function labelFilters(args: MatchArgs): string[] {
  const labels: Record<string, string> = { ...args.labels };
  if (args.compose?.project !== undefined) labels[COMPOSE_PROJECT_LABEL] = args.compose.project;
  if (args.compose?.service !== undefined) labels[COMPOSE_SERVICE_LABEL] = args.compose.service;
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

function nameOf(info: Docker.ContainerInfo): string {
  return (info.Names[0] ?? info.Id).replace(/^\//, '');
}

function matchesContainer(info: Docker.ContainerInfo, wanted: string): boolean {
  const name = wanted.replace(/^\//, '');
  if (info.Names.some((n) => n.replace(/^\//, '') === name)) return true;
  return /^[0-9a-f]{12,64}$/.test(wanted) && info.Id.startsWith(wanted);
}

/** Every container (running or not) the selector matches, in name order. */
export async function listMatching(docker: Docker, dockerHost: string, args: MatchArgs, signal?: AbortSignal): Promise<Candidate[]> {
  const filters: Record<string, string[]> = {};
  const labels = labelFilters(args);
  if (labels.length > 0) filters.label = labels;
  const listed = await engineCall(dockerHost, 'cannot list containers', () =>
    docker.listContainers({ all: true, filters, ...(signal ? { abortSignal: signal } : {}) } as Docker.ContainerListOptions),
  );
  const pattern = args.namePattern === undefined ? undefined : new RegExp(`^(?:${args.namePattern})$`);
  return listed
    .filter((info) => (args.container === undefined || matchesContainer(info, args.container)) && (pattern === undefined || pattern.test(nameOf(info))))
    .map((info) => ({ id: info.Id, name: nameOf(info), state: info.State, labels: info.Labels ?? {} }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Why the allow-list refuses a container, or undefined when it may be touched. */
export function allowListRefusal(candidate: Candidate, settings: DockerTargetSettings | undefined): string | undefined {
  if (settings?.containers && !settings.containers.some((rule) => isExcluded(candidate.name, [rule]))) {
    return `its name is not in targets.docker.containers (${settings.containers.join(', ')})`;
  }
  const missing = Object.entries(settings?.labels ?? {}).filter(([key, value]) => candidate.labels[key] !== value);
  if (missing.length > 0) return `it lacks the label(s) targets.docker.labels requires: ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}`;
  return undefined;
}

/** What the docker driver's entries get: its parsed targets and its session (a client per engine). */
export type DockerContext = DriverContext<DockerTargetSettings, DockerSession>;
/** An action of this driver, taking args A and handing state S from prepare to apply. */
export type DockerAction<A, S = undefined> = ActionDefinition<A, S, DockerContext>;
export type DockerProbe<A> = ProbeDefinition<A, DockerContext>;
export type DockerUndo<A> = UndoDefinition<A, DockerContext>;

export function settingsOf(ctx: DockerContext): DockerTargetSettings | undefined {
  return ctx.target;
}

export function dockerHostFor(ctx: DockerContext): string {
  return resolveDockerHost(settingsOf(ctx), ctx.env);
}

/** Healthy means running, not paused, and healthy by its health check when it has one. */
export function isHealthyState(state: Docker.ContainerInspectInfo['State']): boolean {
  if (!state.Running || state.Paused || state.Restarting) return false;
  return state.Health === undefined || state.Health.Status === 'healthy';
}

async function healthyIds(docker: Docker, dockerHost: string, candidates: Candidate[], signal?: AbortSignal): Promise<Set<string>> {
  const healthy = new Set<string>();
  await engineCall(dockerHost, 'cannot inspect containers', () =>
    Promise.all(
      candidates.map(async (candidate) => {
        try {
          const info = await docker.getContainer(candidate.id).inspect(signal ? { abortSignal: signal } : {});
          if (isHealthyState(info.State)) healthy.add(candidate.id);
        } catch (error) {
          // Removed since it was listed: it is not healthy.
          if (!isNotFound(error)) throw error;
        }
      }),
    ),
  );
  return healthy;
}

export interface Selection {
  dockerHost: string;
  containers: Candidate[];
}

/**
 * The running containers a fault hits: matched by the selector, minus exclusions, drawn by the mode
 * with the run's seed, checked against the allow-list and the min-healthy guard. Makes no mutating call.
 */
export async function selectContainers(args: SelectArgs, ctx: DockerContext, action: string): Promise<Selection> {
  const dockerHost = dockerHostFor(ctx);
  const docker = await dockerClient(dockerHost, ctx.session);
  const matching = await listMatching(docker, dockerHost, args, ctx.signal);
  const running = matching.filter((c) => c.state === 'running');
  const selector = describeSelector(args);
  const stopped = matching.filter((c) => c.state !== 'running');
  requireMatches(running.length, {
    allowEmpty: args.allowEmpty,
    what: 'running container',
    selector,
    hint:
      stopped.length > 0
        ? `${stopped.length} match but are not running: ${stopped.map((c) => `${c.name} (${c.state})`).join(', ')}`
        : 'check the selector (docker ps shows names and labels), or set allowEmpty: true if an empty selection is expected',
  });
  const eligible = running.filter((c) => !isExcluded(c.name, args.exclude));
  if (running.length > 0 && eligible.length === 0 && !args.allowEmpty) {
    throw new FaultlineError('E_PREFLIGHT', `every running container matching ${selector} is excluded (${running.map((c) => c.name).join(', ')})`, {
      hint: 'loosen exclude, or set allowEmpty: true if an empty selection is expected',
    });
  }
  const settings = settingsOf(ctx);
  for (const candidate of eligible) {
    const refusal = allowListRefusal(candidate, settings);
    if (refusal) {
      throw new FaultlineError('E_PREFLIGHT', `${describeContainer(candidate)} matches ${selector} but may not be touched: ${refusal}`, {
        hint: 'narrow the selector, add it to exclude, or widen targets.docker if it may be hit',
      });
    }
  }
  // The step's arguments salt the draw: two steps with different selectors draw independently, and
  // `plan --seed n` draws what `run --seed n` will, since both see the same arguments.
  const salt = `docker.${action}:${JSON.stringify([args.container, args.namePattern, args.labels, args.compose, describeMode(args.mode), args.exclude])}`;
  const selected = selectTargets(eligible, { mode: args.mode, seed: ctx.seed, salt, key: (c) => c.name });
  if (args.minHealthy !== undefined) {
    const healthy = await healthyIds(docker, dockerHost, running, ctx.signal);
    checkMinHealthy({
      minHealthy: args.minHealthy,
      healthy: healthy.size,
      hitHealthy: selected.filter((c) => healthy.has(c.id)).length,
      what: `containers matching ${selector}`,
    });
  }
  return { dockerHost, containers: selected };
}

export function refOf(candidate: ContainerRef): ContainerRef {
  return { id: candidate.id, name: candidate.name };
}
