import { describe, expect, it } from 'vitest';
import { builtinDriverOptions } from '../drivers/options.js';
import { driverOptionsFrom } from './inputs.js';

describe('driverOptionsFrom', () => {
  it('hands each driver only the options it declared, and only those given', () => {
    const declared = new Map([
      ['kubernetes', [{ flags: '--context <name>', key: 'context', description: '' }, { flags: '--allow-production', key: 'allowProduction', description: '' }]],
      ['counter', [{ flags: '--step <n>', key: 'step', description: '' }]],
    ]);
    const values = driverOptionsFrom({ context: 'dev', json: true, seed: '3' }, declared);
    expect([...values]).toEqual([['kubernetes', { context: 'dev' }]]);
    expect(driverOptionsFrom({}, declared).size).toBe(0);
  });
});

describe('the built-in drivers\' options', () => {
  it('give --context and --allow-production to the kubernetes driver alone', () => {
    expect([...driverOptionsFrom({ context: 'dev', allowProduction: true })]).toEqual([['kubernetes', { context: 'dev', allowProduction: true }]]);
    expect([...builtinDriverOptions.keys()]).toEqual(['kubernetes']);
  });
});
