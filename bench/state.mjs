// The in-process state on the hot path at steady state: the memory nonce store with a full
// window, where every new nonce arrives as an old one expires. Its cost must not grow with the
// number of nonces it holds: a store holding 200,000 is compared with one holding 1,000,
// side by side in one run. The larger Map misses the CPU caches more, which costs about half;
// the target (a fifth) leaves room for that and still catches any cost that grows with the
// size, as a sweep stepping over deleted Map entries did (0.01).
import { MemoryNonceStore } from '@keyward/server';
import { fmt, pairedRates, quantile } from './stats.mjs';

const TARGET = 0.2;
const SCOPE = 'kw_kid_3xA5NcWLo3mZPKRvFl1BtJ2Llc5A&';

/** A store filled to steady state: `live` nonces, one a millisecond, each living `live` ms. */
function steadyStore(live) {
  const clock = { t: 0, now: () => clock.t };
  const store = new MemoryNonceStore({ clock, maxEntries: 2 * live });
  let n = 0;
  const consume = () => {
    clock.t++;
    // The body of consume runs synchronously; its promise is settled by the time it returns.
    store.consume(SCOPE, `a8f3kz01mQ93xYb7Lp${(n++).toString(36)}`, clock.t + live);
  };
  for (let i = 0; i < 2 * live; i++) consume();
  if (store.size !== live) throw new Error(`nonce store holds ${store.size}, expected ${live}`);
  return { store, consume };
}

/** Prints the section; returns the number of targets missed. */
export function runState({ pairs, sliceMs }) {
  const big = steadyStore(200_000);
  const small = steadyStore(1_000);
  const { aHz, bHz, ratio, ratios } = pairedRates(big.consume, small.consume, { pairs, sliceMs });
  if (big.store.size !== 200_000 || small.store.size !== 1_000) throw new Error('nonce stores left steady state');
  const ok = ratio >= TARGET;
  console.log(`in-process state — ${pairs} pairs of alternating ${sliceMs} ms slices\n`);
  console.log('Memory nonce store at steady state (a full window: one nonce expires as each arrives)');
  console.log(`  holding 200,000 nonces  ${fmt(aHz).padStart(10)} consumes/s`);
  console.log(`  holding 1,000 nonces    ${fmt(bHz).padStart(10)} consumes/s`);
  console.log(
    `  ratio ${ratio.toFixed(2)} (middle half of ${ratios.length} pairs: ${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}), target ≥ ${TARGET}: ${ok ? 'met' : 'MISSED'}\n`,
  );
  return ok ? 0 : 1;
}
