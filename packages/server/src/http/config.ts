/**
 * The server's configuration: an optional `keyward.config.json`, then environment variables over
 * it, checked as a whole before anything starts. Every name here is documented in the README and
 * is a contract with the people who deploy Keyward.
 *
 * @packageDocumentation
 */

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../cli/durations.js';
import type { Limit } from '../state/limiter.js';
import type { SessionIpPolicy } from '../verify/sessions.js';
import { AUTH_METHODS, type AuthMethod } from '../verify/types.js';

/** Longest access token lifetime the server issues, in seconds (one hour). */
export const MAX_TOKEN_TTL_SECONDS = 3600;

const limit = z.object({
  limit: z.number().int().positive(),
  windowSeconds: z.number().int().positive(),
});

/** The shape of `keyward.config.json` and of the resolved configuration. */
const configSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(4000),
    host: z.string().min(1).default('127.0.0.1'),
    /** The origin callers sign against and the OAuth issuer; default from host and port. */
    publicUrl: z.url().optional(),
    dataDir: z.string().min(1).default('.keyward'),
    databaseUrl: z.string().optional(),
    masterKey: z.string().optional(),
    pepper: z.string().optional(),
    tls: z
      .object({ keyFile: z.string().min(1), certFile: z.string().min(1) })
      .strict()
      .optional(),
    trustProxy: z.array(z.string().min(1)).default([]),
    methods: z
      .array(z.enum(AUTH_METHODS as [AuthMethod, ...AuthMethod[]]))
      .min(1)
      .default([...AUTH_METHODS]),
    timestampWindowSeconds: z.number().int().min(1).max(3600).default(300),
    plaintext: z.boolean().default(false),
    apiKeyHeader: z.boolean().default(false),
    tokenFormat: z.enum(['opaque', 'jwt']).default('opaque'),
    tokenTtlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(MAX_TOKEN_TTL_SECONDS),
    registration: z.boolean().default(true),
    sessionIpPolicy: z.enum(['revoke', 'reject', 'allow']).default('revoke'),
    sessionIdleSeconds: z
      .number()
      .int()
      .positive()
      .default(30 * 60),
    sessionAbsoluteSeconds: z
      .number()
      .int()
      .positive()
      .default(12 * 60 * 60),
    limits: z
      .object({
        failuresPerIp: limit.default({ limit: 30, windowSeconds: 60 }),
        failuresPerKey: limit.default({ limit: 10, windowSeconds: 60 }),
        loginsPerAccount: limit.default({ limit: 5, windowSeconds: 15 * 60 }),
        loginsPerIp: limit.default({ limit: 20, windowSeconds: 15 * 60 }),
      })
      .strict()
      .prefault({}),
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    usageFlushSeconds: z.number().int().min(0).default(10),
    /**
     * When set, `GET /metrics` answers only `Authorization: Bearer <metricsToken>`. A bearer
     * token68 (RFC 6750 §2.1) of at least 32 characters, so that guessing it is hopeless.
     */
    metricsToken: z
      .string()
      .min(32)
      .regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'must be token68 characters (RFC 6750 §2.1)')
      .optional(),
    /** How long a JWT signing key signs before the next one takes over. */
    signingKeyRotationSeconds: z
      .number()
      .int()
      .min(3600)
      .default(30 * 24 * 3600),
  })
  .strict()
  .refine((c) => c.sessionAbsoluteSeconds >= c.sessionIdleSeconds, {
    message: 'sessionAbsoluteSeconds must be at least sessionIdleSeconds',
    path: ['sessionAbsoluteSeconds'],
  });

/** Input accepted in `keyward.config.json` (every field optional). */
export type KeywardConfigInput = z.input<typeof configSchema>;

/** The resolved server configuration. */
export interface KeywardConfig extends Omit<z.output<typeof configSchema>, 'publicUrl'> {
  /** Always set once resolved: the configured value or the loopback default. */
  readonly publicUrl: string;
  readonly sessionIpPolicy: SessionIpPolicy;
  readonly limits: {
    readonly failuresPerIp: Limit;
    readonly failuresPerKey: Limit;
    readonly loginsPerAccount: Limit;
    readonly loginsPerIp: Limit;
  };
}

/** A configuration that cannot be used; the message names the setting and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// Environment variable → config field, with how its text is read. Names are the contract.
const ENV: Record<string, { field: keyof KeywardConfigInput; read: (text: string) => unknown }> = {
  PORT: { field: 'port', read: integer },
  KEYWARD_HOST: { field: 'host', read: (t) => t },
  KEYWARD_PUBLIC_URL: { field: 'publicUrl', read: (t) => t },
  KEYWARD_DATA_DIR: { field: 'dataDir', read: (t) => t },
  KEYWARD_DATABASE_URL: { field: 'databaseUrl', read: (t) => t },
  KEYWARD_MASTER_KEY: { field: 'masterKey', read: (t) => t },
  KEYWARD_PEPPER: { field: 'pepper', read: (t) => t },
  KEYWARD_TRUST_PROXY: { field: 'trustProxy', read: list },
  KEYWARD_METHODS: { field: 'methods', read: list },
  KEYWARD_TIMESTAMP_WINDOW: { field: 'timestampWindowSeconds', read: seconds },
  KEYWARD_PLAINTEXT: { field: 'plaintext', read: boolean },
  KEYWARD_API_KEY_HEADER: { field: 'apiKeyHeader', read: boolean },
  KEYWARD_TOKEN_FORMAT: { field: 'tokenFormat', read: (t) => t },
  KEYWARD_TOKEN_TTL: { field: 'tokenTtlSeconds', read: seconds },
  KEYWARD_REGISTRATION: { field: 'registration', read: boolean },
  KEYWARD_SESSION_IP_POLICY: { field: 'sessionIpPolicy', read: (t) => t },
  KEYWARD_SESSION_IDLE: { field: 'sessionIdleSeconds', read: seconds },
  KEYWARD_SESSION_TTL: { field: 'sessionAbsoluteSeconds', read: seconds },
  KEYWARD_BODY_LIMIT: { field: 'bodyLimitBytes', read: integer },
  KEYWARD_LOG_LEVEL: { field: 'logLevel', read: (t) => t },
  KEYWARD_USAGE_FLUSH: { field: 'usageFlushSeconds', read: seconds },
  KEYWARD_METRICS_TOKEN: { field: 'metricsToken', read: (t) => t },
  KEYWARD_SIGNING_KEY_ROTATION: { field: 'signingKeyRotationSeconds', read: seconds },
};

function integer(text: string): unknown {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** Seconds as a number, or a duration (`90s`, `15m`, `1h`). */
function seconds(text: string): unknown {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = parseDuration(text);
  return ms === undefined ? text : Math.round(ms / 1000);
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function boolean(text: string): unknown {
  const t = text.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(t)) return true;
  if (['0', 'false', 'off', 'no'].includes(t)) return false;
  return text;
}

/**
 * The default public URL: the address the server listens on, with `localhost` for a wildcard
 * bind (callers cannot sign against `0.0.0.0`).
 */
function defaultPublicUrl(host: string, port: number, tls: boolean): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${name}:${port}`;
}

/** Where the configuration is read from. */
export interface ConfigSources {
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Directory relative paths (config file, data dir, TLS files) are resolved against. */
  readonly cwd?: string | undefined;
  /** Settings given in code; the file and the environment are read over them. */
  readonly overrides?: KeywardConfigInput | undefined;
}

/**
 * Reads `keyward.config.json` (or the file `KEYWARD_CONFIG` names; a named file must exist), then
 * the environment over it, and checks the result. Throws a {@link ConfigError} that names every
 * bad setting.
 */
export function loadConfig(sources: ConfigSources = {}): KeywardConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const named = env.KEYWARD_CONFIG === '' ? undefined : env.KEYWARD_CONFIG;
  const file = resolve(cwd, named ?? 'keyward.config.json');
  let fromFile: Record<string, unknown> = {};
  if (named !== undefined || existsSync(file)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('the file must hold a JSON object');
      fromFile = parsed as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const merged: Record<string, unknown> = { ...sources.overrides, ...fromFile };
  for (const [name, { field, read }] of Object.entries(ENV)) {
    const text = env[name];
    if (text !== undefined && text !== '') merged[field] = read(text);
  }
  const tlsKey = env.KEYWARD_TLS_KEY_FILE;
  const tlsCert = env.KEYWARD_TLS_CERT_FILE;
  if ((tlsKey ?? '') !== '' || (tlsCert ?? '') !== '') merged.tls = { keyFile: tlsKey ?? '', certFile: tlsCert ?? '' };

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  const path = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const publicUrl = new URL(c.publicUrl ?? defaultPublicUrl(c.host, c.port, c.tls !== undefined)).origin;
  return {
    ...c,
    publicUrl,
    dataDir: path(c.dataDir),
    ...(c.tls === undefined ? {} : { tls: { keyFile: path(c.tls.keyFile), certFile: path(c.tls.certFile) } }),
  };
}
