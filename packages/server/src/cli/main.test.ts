import { describe, expect, it } from 'vitest';
import { createProgram, VERSION } from './main.js';

describe('keyward command', () => {
  it('prints the package version', async () => {
    let out = '';
    const program = createProgram((t) => {
      out += t;
    });
    await expect(program.parseAsync(['node', 'keyward', '--version'])).rejects.toMatchObject({ exitCode: 0 });
    expect(out.trim()).toBe(VERSION);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints help naming the command', async () => {
    let out = '';
    const program = createProgram((t) => {
      out += t;
    });
    await expect(program.parseAsync(['node', 'keyward', '--help'])).rejects.toMatchObject({ exitCode: 0 });
    expect(out).toContain('Usage: keyward');
  });

  it('refuses an unknown argument with the usage exit code, 2', async () => {
    let err = '';
    const program = createProgram(
      () => {},
      (t) => {
        err += t;
      },
    );
    await expect(program.parseAsync(['node', 'keyward', 'bogus'])).rejects.toMatchObject({ exitCode: 2 });
    expect(err).toContain('error');
  });
});
