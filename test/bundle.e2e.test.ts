// The bundled command line (scripts/bundle.mjs) and its compile cache (bin/faultline.js), as a user meets
// them: the first start writes the cache, later starts read it, and a driver's client library, loaded at
// run time, still loads from a start that read the cache.
import { chmod, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { requireDocker } from './support/testenv.js';

const experiment = `version: 1
title: kill a container that is not there
method:
  - name: kill
    fault: docker.kill
    with: { container: faultline-no-such-container }
`;

describe('the bundled CLI', () => {
  it('writes its compile cache once, and a start from the cache loads the Docker client library', async (t) => {
    const { dockerHost } = await requireDocker(t);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-bundle-'));
    await writeFile(join(dir, 'kill.yaml'), experiment);
    // The user's cache folder is this test's own, so the first start finds no cache.
    const env = { XDG_CACHE_HOME: dir, DOCKER_HOST: dockerHost };
    const args = ['run', 'kill.yaml', '--ledger-dir', 'ledger', '--no-guardian'];
    const first = await runCli(args, { cwd: dir, env });
    const cache = await readdir(join(dir, 'faultline', 'compile-cache'));
    // One file for the CLI, one for the Docker client library (bundled alone, loaded by the driver).
    expect(cache.filter((name) => name.endsWith('.bin')).map((name) => name.split('-')[0]).sort()).toEqual(['cli.cjs', 'dockerode.cjs']);
    const second = await runCli(args, { cwd: dir, env });
    for (const result of [first, second]) {
      // Exit 4 with the driver's own answer: the Engine API was reached through dockerode.
      expect(result.stdout + result.stderr).toMatch(/no running container matches/);
      expect(result.stdout + result.stderr).not.toMatch(/dynamic import|internal error/i);
      expect(result.code).toBe(4);
    }
    expect(await readdir(join(dir, 'faultline', 'compile-cache'))).toEqual(cache);
  });

  it('runs without a cache when FAULTLINE_COMPILE_CACHE=0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-bundle-'));
    const result = await runCli(['validate', join(process.cwd(), 'experiments', 'quickstart.yaml')], { cwd: dir, env: { XDG_CACHE_HOME: dir, FAULTLINE_COMPILE_CACHE: '0' } });
    expect(result.code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('neither reads nor writes a cache folder that others can write to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-bundle-'));
    const shared = join(dir, 'shared');
    await mkdir(shared);
    // A folder like a shared /tmp: compiled code planted there would run as whoever starts faultline.
    await chmod(shared, 0o777);
    const result = await runCli(['validate', join(process.cwd(), 'experiments', 'quickstart.yaml')], { cwd: dir, env: { FAULTLINE_COMPILE_CACHE: shared } });
    expect(result.code).toBe(0);
    expect(await readdir(shared)).toEqual([]);
    await chmod(shared, 0o700);
    expect((await runCli(['validate', join(process.cwd(), 'experiments', 'quickstart.yaml')], { cwd: dir, env: { FAULTLINE_COMPILE_CACHE: shared } })).code).toBe(0);
    expect(await readdir(shared)).toHaveLength(1);
  });
});
