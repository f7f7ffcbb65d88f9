/**
 * The docs page: the OpenAPI document as one self-contained HTML page, rendered on the server.
 * No script and no external asset (the page works offline and under a strict CSP); every text
 * taken from the document is escaped.
 *
 * @packageDocumentation
 */

import { createHash } from 'node:crypto';

/** The parts of an OpenAPI 3.1 document the page reads. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly servers?: readonly { readonly url: string }[];
  readonly tags?: readonly { readonly name: string; readonly description?: string }[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>;
  readonly components?: {
    readonly schemas?: Readonly<Record<string, Schema>>;
    readonly securitySchemes?: Readonly<Record<string, { readonly type: string; readonly description?: string }>>;
  };
}

interface Operation {
  readonly operationId?: string;
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly {
    readonly name: string;
    readonly in: string;
    readonly required?: boolean;
    readonly description?: string;
    readonly schema?: Schema;
  }[];
  readonly requestBody?: {
    readonly required?: boolean;
    readonly content?: Readonly<Record<string, { readonly schema?: Schema }>>;
  };
  readonly responses?: Readonly<
    Record<string, { readonly description?: string; readonly content?: Readonly<Record<string, { schema?: Schema }>> }>
  >;
}

/** A JSON Schema, as loosely as the page needs it. */
type Schema = { readonly [key: string]: unknown };

/** The HTTP methods an OpenAPI path item can hold, in display order. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Inline code in descriptions (`kw_kid_…`) is shown as <code>, after escaping.
function prose(text: string | undefined): string {
  if (text === undefined || text === '') return '';
  return `<p>${escapeHtml(text).replace(/&#96;(.+?)&#96;/g, '<code>$1</code>')}</p>`;
}

const MAX_DEPTH = 8;

function resolve(schema: Schema, doc: OpenApiDocument): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/components/schemas/')) return schema;
  return doc.components?.schemas?.[ref.slice('#/components/schemas/'.length)] ?? schema;
}

function constraints(schema: Schema): string {
  const parts: string[] = [];
  for (const key of ['format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems']) {
    if (schema[key] !== undefined) parts.push(`${key} ${JSON.stringify(schema[key])}`);
  }
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.length === 0 ? '' : ` <span class="c">(${escapeHtml(parts.join(', '))})</span>`;
}

/** A schema in readable form: types, fields with required marks, constraints, descriptions. */
export function renderSchema(input: Schema | undefined, doc: OpenApiDocument, depth = 0): string {
  if (input === undefined) return '<em>any</em>';
  if (depth > MAX_DEPTH) return '<em>…</em>';
  const schema = resolve(input, doc);
  const note = typeof schema.description === 'string' ? ` — ${escapeHtml(schema.description)}` : '';
  if (schema.const !== undefined) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>${note}`;
  if (Array.isArray(schema.enum)) {
    if (schema.enum.length === 1) return `<code>${escapeHtml(JSON.stringify(schema.enum[0]))}</code>${note}`;
    return `one of ${schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(', ')}${note}`;
  }
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(union)) {
    const simple = union.every((s) => {
      const r = resolve(s, doc);
      return r.properties === undefined && r.anyOf === undefined && r.items === undefined;
    });
    if (simple) return `${union.map((s) => renderSchema(s, doc, depth + 1)).join(' or ')}${note}`;
    return `one of:${note}<ul>${union.map((s) => `<li>${renderSchema(s, doc, depth + 1)}</li>`).join('')}</ul>`;
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type as string | undefined);
  if (type === 'array') {
    return `array of ${renderSchema(schema.items as Schema | undefined, doc, depth + 1)}${constraints(schema)}${note}`;
  }
  if (type === 'object' || schema.properties !== undefined) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    const rows = Object.entries(properties).map(
      ([name, s]) =>
        `<li><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}: ${renderSchema(s, doc, depth + 1)}</li>`,
    );
    const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>).map(
      ([pattern, s]) =>
        `<li>any name matching <code>${escapeHtml(pattern)}</code>: ${renderSchema(s, doc, depth + 1)}</li>`,
    );
    const extra =
      schema.additionalProperties === false
        ? ''
        : rows.length === 0 && patterns.length === 0
          ? ' (any fields)'
          : ' (more fields allowed)';
    const list = [...rows, ...patterns];
    return `object${extra}${constraints(schema)}${note}${list.length === 0 ? '' : `<ul>${list.join('')}</ul>`}`;
  }
  return `${escapeHtml(type ?? 'any')}${constraints(schema)}${note}`;
}

// OpenAPI 3.1 §4.8.30: the requirements are alternatives; an empty one, beside others, lets the
// request carry its credentials where no security scheme can say (the OAuth endpoints'
// client_secret_post, in the body).
function auth(op: Operation): string {
  const requirements = op.security ?? [];
  if (requirements.every((req) => Object.keys(req).length === 0)) return 'none';
  return requirements
    .map((req) =>
      Object.keys(req).length === 0
        ? 'credentials in the request body'
        : Object.entries(req)
            .map(([name, scopes]) => (scopes.length === 0 ? name : `${name} (${scopes.join(' ')})`))
            .join(' + '),
    )
    .map(escapeHtml)
    .join(' or ');
}

function anchor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function renderOperation(method: string, path: string, op: Operation, doc: OpenApiDocument): string {
  const params = (op.parameters ?? []).map(
    (p) =>
      `<li><code>${escapeHtml(p.name)}</code> in ${escapeHtml(p.in)}${p.required === true ? ' <span class="req">required</span>' : ''}: ${renderSchema(p.schema, doc)}${p.description === undefined ? '' : ` — ${escapeHtml(p.description)}`}</li>`,
  );
  const body = Object.entries(op.requestBody?.content ?? {}).map(
    ([type, media]) => `<div><code>${escapeHtml(type)}</code>: ${renderSchema(media.schema, doc)}</div>`,
  );
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const content = Object.entries(r.content ?? {})
      .map(([type, media]) => `<div><code>${escapeHtml(type)}</code>: ${renderSchema(media.schema, doc)}</div>`)
      .join('');
    return `<li><strong>${escapeHtml(status)}</strong> ${escapeHtml(r.description ?? '')}${content}</li>`;
  });
  return `<section class="op" id="${escapeHtml(anchor(method, path))}">
<h3><span class="m m-${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p class="summary">${escapeHtml(op.summary ?? '')}${op.operationId === undefined ? '' : ` <code>${escapeHtml(op.operationId)}</code>`}</p>${prose(op.description)}
<p><strong>Auth:</strong> ${auth(op)}</p>
${params.length === 0 ? '' : `<h4>Parameters</h4><ul>${params.join('')}</ul>`}
${body.length === 0 ? '' : `<h4>Request body${op.requestBody?.required === false ? ' (optional)' : ''}</h4>${body.join('')}`}
<h4>Responses</h4><ul>${responses.join('')}</ul>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1b1f24}
code{font:13px ui-monospace,monospace;background:#f2f4f7;padding:0 .2em;border-radius:3px}
.op{border:1px solid #d8dde3;border-radius:6px;padding:.25rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5em;text-align:center;color:#fff;border-radius:3px;font-size:13px;padding:0 .3em}
.m-get{background:#1f6feb}.m-post{background:#1a7f37}.m-put,.m-patch{background:#9a6700}.m-delete{background:#cf222e}
.m-head,.m-options,.m-trace{background:#57606a}.req{color:#cf222e;font-size:12px}.c{color:#57606a}
.summary{font-weight:600}nav ul{columns:2}h4{margin:.5rem 0 .25rem}ul{margin:.25rem 0}`;

/**
 * The page for a document, and the Content-Security-Policy to serve it with (nothing but the
 * inline style, by hash).
 */
export function renderDocsPage(doc: OpenApiDocument): { html: string; csp: string } {
  const tagOrder = [...(doc.tags ?? []).map((t) => t.name), 'other'];
  const operations: { tag: string; method: string; path: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      // Operations whose first tag the document does not list go under "other".
      const tag = op?.tags?.[0];
      if (op !== undefined)
        operations.push({ tag: tag !== undefined && tagOrder.includes(tag) ? tag : 'other', method, path, op });
    }
  }
  const sections = tagOrder
    .map((tag) => {
      const ops = operations.filter((o) => o.tag === tag);
      if (ops.length === 0) return '';
      const described = doc.tags?.find((t) => t.name === tag)?.description;
      return `<h2 id="tag-${escapeHtml(tag)}">${escapeHtml(tag)}</h2>${prose(described)}${ops
        .map((o) => renderOperation(o.method, o.path, o.op, doc))
        .join('\n')}`;
    })
    .join('\n');
  const index = operations
    .map(
      (o) =>
        `<li><a href="#${escapeHtml(anchor(o.method, o.path))}">${escapeHtml(o.method.toUpperCase())} ${escapeHtml(o.path)}</a></li>`,
    )
    .join('');
  const schemes = Object.entries(doc.components?.securitySchemes ?? {})
    .map(([name, s]) => `<li><code>${escapeHtml(name)}</code> (${escapeHtml(s.type)})${prose(s.description)}</li>`)
    .join('');
  const title = `${doc.info.title} ${doc.info.version}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} — API</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>${prose(doc.info.description)}
<p>OpenAPI ${escapeHtml(doc.openapi)} document: <a href="/openapi.json">/openapi.json</a>. Server: ${(doc.servers ?? []).map((s) => `<code>${escapeHtml(s.url)}</code>`).join(', ')}</p>
<h2>Authentication</h2><ul>${schemes}</ul>
<h2>Operations</h2><nav><ul>${index}</ul></nav>
${sections}
</body></html>
`;
  const hash = createHash('sha256').update(STYLE).digest('base64');
  return {
    html,
    csp: `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
}
