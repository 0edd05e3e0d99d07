import { describe, expect, it } from 'vitest';
import { runsProgram } from './processes.js';

describe('runsProgram', () => {
  it('trusts a command line that names the program, and refuses one that names another', () => {
    expect(runsProgram('/cache/bin/kubelet --config x', 'S', '/cache/bin/kubelet')).toBe(true);
    expect(runsProgram('/usr/bin/sleep 100', 'S', '/cache/bin/kubelet')).toBe(false);
  });

  it('counts an empty command line (between fork and exec) as running, unless the process is a zombie or gone', () => {
    expect(runsProgram('', 'R', '/cache/bin/kubelet')).toBe(true);
    expect(runsProgram('', 'D', '/cache/bin/kubelet')).toBe(true);
    expect(runsProgram('', 'Z', '/cache/bin/kubelet')).toBe(false);
    expect(runsProgram('', 'X', '/cache/bin/kubelet')).toBe(false);
    expect(runsProgram('', undefined, '/cache/bin/kubelet')).toBe(false);
  });
});
