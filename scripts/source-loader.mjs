// Module hooks that let plain Node import the workspace's TypeScript sources, so scripts read the
// code as it is on disk rather than a possibly stale dist/: `@keyward/*` resolves through the
// `source` export condition, and `.ts` files are transpiled (types stripped, nothing type-checked;
// `npm run typecheck` does that). Register with `module.register('./source-loader.mjs', import.meta.url)`.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

/** Resolves with the `source` condition; maps a `.js` import inside a `.ts` file to its `.ts` source. */
export async function resolve(specifier, context, nextResolve) {
  const options = { ...context, conditions: [...context.conditions, 'source'] };
  try {
    return await nextResolve(specifier, options);
  } catch (error) {
    // The sources import each other as './x.js' (NodeNext style) while the file is './x.ts'.
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, options);
    }
    throw error;
  }
}

/** Loads a `.ts` file as an ES module with its types stripped. */
export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const { outputText } = ts.transpileModule(await readFile(new URL(url), 'utf8'), {
    fileName: url,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
