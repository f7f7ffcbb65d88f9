// A program run to its end from a test, with what it printed.
import { spawn } from 'node:child_process';
import { expect } from 'vitest';

/** How a program ended, and what it printed. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end, killed after `timeoutMs` (30 s unless told); stdin gets `input` when
 * given; `env` defaults to this process's.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv | undefined; input?: string; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Fails the test unless the program exited 0, showing what it printed. */
export function expectSuccess(r: Run, what: string): void {
  expect(r.code, `${what}: exit ${r.code} (${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
}
